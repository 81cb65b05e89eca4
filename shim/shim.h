/*
 * ovs-dpemu LD_PRELOAD shim: declarations shared by its translation units.
 *
 * An emulated netlink socket is, in the client, a real SOCK_SEQPACKET unix connection to the
 * emulator (the "data connection"): the emulator writes netlink datagrams into it, the kernel
 * gives us poll/epoll/fork/dup/MSG_PEEK/MSG_TRUNC. Requests travel on a private per-process
 * "control connection" (shim-control.c). Wire format: shim/PROTOCOL.md.
 */
#ifndef OVSDPEMU_SHIM_H
#define OVSDPEMU_SHIM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

/* ---- wire protocol (PROTOCOL.md); all fields little-endian, this shim is x86/arm LE only ---- */
#define DPEM_MAGIC 0x4d455044u /* bytes "DPEM" */
#define DPEM_VERSION 1
#define DPEM_KIND_DATA 1
#define DPEM_KIND_CONTROL 2
#define DPEM_KIND_RECORD 3 /* passthrough recording (shim-record.c) */

enum dpem_op {
  DPEM_OP_SEND = 1,
  DPEM_OP_BIND = 2,
  DPEM_OP_CONNECT = 3,
  DPEM_OP_SETSOCKOPT = 4,
  DPEM_OP_GETSOCKOPT = 5,
  DPEM_OP_REFILL = 6,
  DPEM_OP_GETNAME = 7,
  DPEM_OP_CLOSED = 8,
};

#define DPEM_REQ_HAS_ADDR 0x1u   /* SEND/CONNECT: arg0/arg1 carry an address */
#define DPEM_REQ_UNSPEC 0x2u     /* CONNECT: AF_UNSPEC, i.e. disconnect */
#define DPEM_REP_DUMP_PENDING 0x1u
#define DPEM_MARKER_MAX 15       /* data-connection datagrams this short mean "ENOBUFS once" */
#define DPEM_MAX_SOCKOPT 256     /* netlink reads 4 bytes; cap what we forward */

struct dpem_hello {
  uint32_t magic;
  uint16_t version;
  uint16_t kind;
  uint32_t protocol;
  uint32_t sock_type;
};

struct dpem_hello_reply {
  uint32_t magic;
  int32_t status;
  uint32_t sockid;
  uint32_t version;
  uint64_t token;
};

struct dpem_req {
  uint16_t op;
  uint16_t flags;
  uint32_t sockid;
  uint64_t token;
  uint32_t arg0;
  uint32_t arg1;
};

struct dpem_rep {
  uint16_t op;
  uint16_t flags;
  int32_t status;
  uint32_t value;
  uint32_t value2;
};

/* Passthrough recording: one per datagram sent to or received from the kernel, followed by
 * the datagram's bytes (PROTOCOL.md "Recording"). */
#define DPEM_REC_TO_KERNEL 1
#define DPEM_REC_FROM_KERNEL 2
#define DPEM_REC_TRUNCATED 0x1u /* fewer bytes follow than orig_len */

struct dpem_rec {
  uint16_t dir;
  uint16_t flags;
  uint32_t protocol;
  uint32_t pid;         /* getpid() of the sender/receiver */
  uint32_t portid;      /* the socket's nl_pid (getsockname) */
  uint32_t peer_pid;    /* send: destination nl_pid; receive: msg_name nl_pid (0 = kernel) */
  uint32_t peer_groups; /* send: destination nl_groups; receive: msg_name nl_groups */
  uint64_t time_ns;     /* CLOCK_REALTIME */
  uint32_t orig_len;    /* the datagram's full length */
  uint32_t fd;          /* the client's fd */
};

_Static_assert(sizeof(struct dpem_hello) == 16, "hello layout");
_Static_assert(sizeof(struct dpem_rec) == 40, "record layout");
_Static_assert(sizeof(struct dpem_hello_reply) == 24, "hello reply layout");
_Static_assert(sizeof(struct dpem_req) == 24, "request layout");
_Static_assert(sizeof(struct dpem_rep) == 16, "reply layout");

/* ---- libc entry points we wrap, resolved with dlsym(RTLD_NEXT) ---- */
struct shim_real {
  int (*socket)(int, int, int);
  int (*bind)(int, const struct sockaddr *, socklen_t);
  int (*connect)(int, const struct sockaddr *, socklen_t);
  int (*getsockname)(int, struct sockaddr *, socklen_t *);
  int (*getpeername)(int, struct sockaddr *, socklen_t *);
  int (*setsockopt)(int, int, int, const void *, socklen_t);
  int (*getsockopt)(int, int, int, void *, socklen_t *);
  ssize_t (*send)(int, const void *, size_t, int);
  ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
  ssize_t (*sendmsg)(int, const struct msghdr *, int);
  ssize_t (*recv)(int, void *, size_t, int);
  ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
  ssize_t (*recvmsg)(int, struct msghdr *, int);
  int (*sendmmsg)(int, struct mmsghdr *, unsigned int, int);
  int (*recvmmsg)(int, struct mmsghdr *, unsigned int, int, struct timespec *);
  ssize_t (*read)(int, void *, size_t);
  ssize_t (*write)(int, const void *, size_t);
  int (*close)(int);
  int (*close_range)(unsigned int, unsigned int, int);
  int (*dup)(int);
  int (*dup2)(int, int);
  int (*dup3)(int, int, int);
  int (*fcntl)(int, int, ...);
  int (*fcntl64)(int, int, ...);
  ssize_t (*recv_chk)(int, void *, size_t, size_t, int);
  ssize_t (*recvfrom_chk)(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);
  ssize_t (*read_chk)(int, void *, size_t, size_t);
};

extern struct shim_real R;
void shim_init(void);

/* ---- per-fd state (shim-fdtab.c) ---- */

/* One emulated socket as this process sees it; shared by dup'd fds (refcounted). */
struct emu_sock {
  atomic_int refs;
  uint32_t sockid;
  uint64_t token;
  int type;     /* SOCK_RAW or SOCK_DGRAM, as the client asked (SO_TYPE) */
  int protocol; /* NETLINK_GENERIC */
  atomic_int dump_pending;
  int passthrough;     /* a real kernel socket whose traffic is recorded (shim-record.c) */
  atomic_uint portid;  /* passthrough: the kernel's nl_pid once bound, else 0 */
};

/* Returns the fd's socket with a reference held, or NULL for a non-emulated fd. */
struct emu_sock *fdtab_get(int fd);
/* Drops a reference. */
void emu_put(struct emu_sock *s);
/* Like fdtab_get, but NULL for passthrough sockets too (they go to libc for everything but I/O). */
struct emu_sock *emu_get(int fd);
/* Removes fd from the table and returns its socket with the table's reference, or NULL. */
struct emu_sock *fdtab_take(int fd);
/* Makes fd refer to s (a new reference is taken; s may be NULL to forget the fd). */
void fdtab_set(int fd, struct emu_sock *s);
/* True when the slot of fd is non-empty (lock-free peek for fast paths). */
int fdtab_peek(int fd);
/* Forgets every fd in [lo, hi]. */
void fdtab_clear_range(unsigned int lo, unsigned int hi);
/* fork() protection of the table lock. */
void fdtab_lock(void);
void fdtab_unlock(void);

/* ---- control connection (shim-control.c) ---- */

/* The emulator socket path: $OVS_DPEMU_SOCKET, else the uid-based default (as socket-path.ts). */
void shim_socket_path(char *buf, size_t len);
/*
 * Opens a data connection and runs the hello. Returns the fd, or -errno with *fallback set
 * when the emulator is not reachable (socket() then hands out a real kernel socket).
 */
int shim_open_data(int protocol, int type, int cloexec, struct dpem_hello_reply *hello, int *fallback);
/* One request/answer on the control connection. Returns 0 or -errno (transport failure). */
int shim_call(struct emu_sock *s, uint16_t op, uint16_t flags, uint32_t arg0, uint32_t arg1,
              const struct iovec *payload, int npayload, struct dpem_rep *rep);
/* Called when the client closes (or dup2s over) fd: forget it if it is our control fd. */
void shim_forget_fd(int fd);
void shim_forget_range(unsigned int lo, unsigned int hi);
/* fork() handlers. */
void shim_ctl_lock(void);
void shim_ctl_unlock(void);
void shim_ctl_child(void);

/* ---- passthrough recording (shim-record.c) ---- */

/* $OVS_DPEMU_RECORD, or NULL: set, generic netlink sockets are real and recorded. */
const char *shim_record_path(void);
/* After a real socket() succeeded: registers fd as a recorded passthrough socket (when the
 * recorder answers; otherwise one hint on stderr and the fd stays untracked). */
void shim_rec_track(int fd, int type, int protocol);
/* I/O on passthrough sockets: the real call, plus a copy to the recorder on success. */
ssize_t shim_rec_send(int fd, struct emu_sock *s, const struct iovec *iov, size_t iovcnt,
                      const void *name, socklen_t namelen, int flags);
ssize_t shim_rec_recv(int fd, struct emu_sock *s, struct msghdr *m, int flags);
void shim_rec_forget_fd(int fd);
void shim_rec_forget_range(unsigned int lo, unsigned int hi);
void shim_rec_lock(void);
void shim_rec_unlock(void);

#endif
