/*
 * ovs-dpemu LD_PRELOAD shim: makes socket(AF_NETLINK, SOCK_RAW|SOCK_DGRAM, NETLINK_GENERIC)
 * talk to the ovs-dpemu emulator instead of the kernel. Every other socket, and every call on
 * a non-emulated fd, goes straight to libc. See shim.h for the design, PROTOCOL.md for the wire.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "shim.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct shim_real R;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* The process whose memory our state is. A vfork() child (Python's subprocess, posix_spawn
 * users) shares that memory until it execs, and runs no atfork handler: its close()/dup2()/
 * close_range() of inherited fds must not touch the parent's table or control connection. */
static atomic_int owner_pid;

static int in_borrowed_memory(void) { return getpid() != atomic_load(&owner_pid); }

#define RESOLVE(field, name) R.field = (__typeof__(R.field))dlsym(RTLD_NEXT, name)

static void resolve(void) {
  RESOLVE(socket, "socket");
  RESOLVE(bind, "bind");
  RESOLVE(connect, "connect");
  RESOLVE(getsockname, "getsockname");
  RESOLVE(getpeername, "getpeername");
  RESOLVE(setsockopt, "setsockopt");
  RESOLVE(getsockopt, "getsockopt");
  RESOLVE(send, "send");
  RESOLVE(sendto, "sendto");
  RESOLVE(sendmsg, "sendmsg");
  RESOLVE(recv, "recv");
  RESOLVE(recvfrom, "recvfrom");
  RESOLVE(recvmsg, "recvmsg");
  RESOLVE(sendmmsg, "sendmmsg");
  RESOLVE(recvmmsg, "recvmmsg");
  RESOLVE(read, "read");
  RESOLVE(write, "write");
  RESOLVE(close, "close");
  RESOLVE(close_range, "close_range");
  RESOLVE(dup, "dup");
  RESOLVE(dup2, "dup2");
  RESOLVE(dup3, "dup3");
  RESOLVE(fcntl, "fcntl");
  RESOLVE(fcntl64, "fcntl64");
  if (R.fcntl64 == NULL) R.fcntl64 = R.fcntl;
  RESOLVE(recv_chk, "__recv_chk");
  RESOLVE(recvfrom_chk, "__recvfrom_chk");
  RESOLVE(read_chk, "__read_chk");
}

static void atfork_prepare(void) {
  fdtab_lock();
  shim_ctl_lock();
  shim_rec_lock();
}
static void atfork_parent(void) {
  shim_rec_unlock();
  shim_ctl_unlock();
  fdtab_unlock();
}
static void atfork_child(void) {
  atomic_store(&owner_pid, getpid());
  shim_rec_unlock(); /* the recorder connection is shared with the parent: records are atomic */
  shim_ctl_child();
  fdtab_unlock();
}

/* fork(): hold both locks across it so the child never inherits one mid-update; the child
 * then opens its own control connection (the inherited one is the parent's conversation). */
static void init_all(void) {
  atomic_store(&owner_pid, getpid());
  resolve();
  pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

void shim_init(void) { pthread_once(&init_once, init_all); }

__attribute__((constructor)) static void shim_ctor(void) { shim_init(); }

static int fail(int err) {
  errno = err;
  return -1;
}

/* ---------------------------------------------------------------- socket lifecycle ---- */

int socket(int domain, int type, int protocol) {
  shim_init();
  int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (domain != AF_NETLINK || protocol != NETLINK_GENERIC || (base != SOCK_RAW && base != SOCK_DGRAM))
    return R.socket(domain, type, protocol);
  if (shim_record_path() != NULL) {
    /* Passthrough recording: the kernel's socket, its datagrams copied to the recorder. */
    int fd = R.socket(domain, type, protocol);
    if (fd >= 0) {
      int saved = errno;
      shim_rec_track(fd, base, protocol);
      errno = saved;
    }
    return fd;
  }
  struct dpem_hello_reply hello;
  int fallback = 0;
  int fd = shim_open_data(protocol, base, type & SOCK_CLOEXEC, &hello, &fallback);
  if (fd < 0) return fallback ? R.socket(domain, type, protocol) : fail(-fd);
  if (type & SOCK_NONBLOCK) R.fcntl(fd, F_SETFL, R.fcntl(fd, F_GETFL) | O_NONBLOCK);
  struct emu_sock *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    R.close(fd);
    return fail(ENOMEM);
  }
  s->sockid = hello.sockid;
  s->token = hello.token;
  s->type = base;
  s->protocol = protocol;
  atomic_init(&s->refs, 0);
  fdtab_set(fd, s);
  return fd;
}

int close(int fd) {
  shim_init();
  if (in_borrowed_memory()) return R.close(fd);
  shim_forget_fd(fd);
  /* Forget fd before the real close: its number may be reused at once by another thread. */
  struct emu_sock *s = fdtab_take(fd);
  int rc = R.close(fd);
  if (s != NULL && !s->passthrough && rc == 0 && atomic_load(&s->refs) == 1) {
    /* Our last fd of the socket: have the emulator look for the hang-up now, so the socket
     * (and its portid) is gone when close() returns, as with the kernel. If another process
     * still holds the connection, the emulator sees no hang-up and keeps it. */
    struct dpem_rep rep;
    shim_call(s, DPEM_OP_CLOSED, 0, 0, 0, NULL, 0, &rep);
  }
  emu_put(s);
  return rc;
}

int close_range(unsigned int lo, unsigned int hi, int flags) {
  shim_init();
  if (!(flags & CLOSE_RANGE_CLOEXEC) && !in_borrowed_memory()) {
    shim_forget_range(lo, hi);
    fdtab_clear_range(lo, hi);
  }
  if (R.close_range == NULL) return fail(ENOSYS);
  return R.close_range(lo, hi, flags);
}

/* The new fd shares the open file description, hence the emulated socket. */
static int after_dup(int oldfd, int newfd) {
  if (newfd < 0 || in_borrowed_memory()) return newfd;
  struct emu_sock *s = fdtab_get(oldfd);
  if (s != NULL || fdtab_peek(newfd)) fdtab_set(newfd, s);
  emu_put(s);
  return newfd;
}

int dup(int fd) {
  shim_init();
  return after_dup(fd, R.dup(fd));
}

/* dup2/dup3 replace newfd atomically, so its entry changes only once the call succeeded
 * (a failed dup2 onto an emulated fd must leave it emulated). */
static int after_dup2(int oldfd, int newfd, int rc) {
  if (rc < 0 || oldfd == newfd || in_borrowed_memory()) return rc;
  shim_forget_fd(newfd); /* if it was our control fd, it is the client's now */
  struct emu_sock *s = fdtab_get(oldfd);
  fdtab_set(newfd, s);
  emu_put(s);
  return rc;
}

int dup2(int oldfd, int newfd) {
  shim_init();
  return after_dup2(oldfd, newfd, R.dup2(oldfd, newfd));
}

int dup3(int oldfd, int newfd, int flags) {
  shim_init();
  return after_dup2(oldfd, newfd, R.dup3(oldfd, newfd, flags));
}

static int fcntl_common(int (*real)(int, int, ...), int fd, int cmd, void *arg) {
  int rc = real(fd, cmd, arg);
  if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) return after_dup(fd, rc);
  return rc;
}

/* glibc itself fetches the third argument unconditionally as a pointer; so do we. */
int fcntl(int fd, int cmd, ...) {
  shim_init();
  va_list ap;
  va_start(ap, cmd);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  return fcntl_common(R.fcntl, fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...) {
  shim_init();
  va_list ap;
  va_start(ap, cmd);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  return fcntl_common(R.fcntl64, fd, cmd, arg);
}

/* ---------------------------------------------------------------- addresses ---- */

/* Turns a control answer into the libc convention (the emulator's status is -errno). */
static int status_of(int rc, const struct dpem_rep *rep) {
  if (rc < 0) return fail(-rc);
  if (rep->status < 0) return fail(-rep->status);
  return 0;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  shim_init();
  struct emu_sock *s = emu_get(fd);
  if (s == NULL) return R.bind(fd, addr, len);
  int ret;
  const struct sockaddr_nl *nl = (const struct sockaddr_nl *)addr;
  struct dpem_rep rep;
  /* kernel: netlink_bind() checks length, then family */
  if (len < sizeof(struct sockaddr_nl)) ret = fail(EINVAL);
  else if (addr == NULL) ret = fail(EFAULT);
  else if (nl->nl_family != AF_NETLINK) ret = fail(EINVAL);
  else ret = status_of(shim_call(s, DPEM_OP_BIND, 0, nl->nl_pid, nl->nl_groups, NULL, 0, &rep), &rep);
  emu_put(s);
  return ret;
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  shim_init();
  struct emu_sock *s = emu_get(fd);
  if (s == NULL) return R.connect(fd, addr, len);
  int ret;
  const struct sockaddr_nl *nl = (const struct sockaddr_nl *)addr;
  struct dpem_rep rep;
  /* kernel: netlink_connect(); AF_UNSPEC disconnects */
  if (len < sizeof(sa_family_t)) ret = fail(EINVAL);
  else if (addr == NULL) ret = fail(EFAULT);
  else if (addr->sa_family == AF_UNSPEC)
    ret = status_of(shim_call(s, DPEM_OP_CONNECT, DPEM_REQ_UNSPEC, 0, 0, NULL, 0, &rep), &rep);
  else if (addr->sa_family != AF_NETLINK || len < sizeof(struct sockaddr_nl)) ret = fail(EINVAL);
  else
    ret = status_of(shim_call(s, DPEM_OP_CONNECT, DPEM_REQ_HAS_ADDR, nl->nl_pid, nl->nl_groups, NULL, 0, &rep), &rep);
  emu_put(s);
  return ret;
}

/* kernel: netlink_getname(); the address is asked of the emulator, which owns the binding
 * (a forked child or a dup'd fd may have bound the socket). */
static int getname(int fd, struct sockaddr *addr, socklen_t *len, int peer,
                   int (*real)(int, struct sockaddr *, socklen_t *)) {
  shim_init();
  struct emu_sock *s = emu_get(fd);
  if (s == NULL) return real(fd, addr, len);
  int ret;
  struct dpem_rep rep;
  if (addr == NULL || len == NULL) ret = fail(EFAULT);
  else if ((ret = status_of(shim_call(s, DPEM_OP_GETNAME, 0, (uint32_t)peer, 0, NULL, 0, &rep), &rep)) == 0) {
    struct sockaddr_nl nl = {.nl_family = AF_NETLINK, .nl_pid = rep.value, .nl_groups = rep.value2};
    memcpy(addr, &nl, *len < sizeof(nl) ? *len : sizeof(nl));
    *len = sizeof(nl);
  }
  emu_put(s);
  return ret;
}

int getsockname(int fd, struct sockaddr *addr, socklen_t *len) { return getname(fd, addr, len, 0, R.getsockname); }
int getpeername(int fd, struct sockaddr *addr, socklen_t *len) { return getname(fd, addr, len, 1, R.getpeername); }

/* ---------------------------------------------------------------- options ---- */

static int put_int(void *val, socklen_t *len, int v) {
  if (val == NULL || len == NULL) return fail(EFAULT);
  socklen_t n = *len < sizeof(int) ? *len : sizeof(int);
  memcpy(val, &v, n);
  *len = n;
  return 0;
}

int getsockopt(int fd, int level, int name, void *val, socklen_t *len) {
  shim_init();
  struct emu_sock *s = emu_get(fd);
  if (s == NULL) return R.getsockopt(fd, level, name, val, len);
  int ret;
  struct dpem_rep rep;
  if (level == SOL_SOCKET && name == SO_TYPE) ret = put_int(val, len, s->type);
  else if (level == SOL_SOCKET && name == SO_DOMAIN) ret = put_int(val, len, AF_NETLINK);
  else if (level == SOL_SOCKET && name == SO_PROTOCOL) ret = put_int(val, len, s->protocol);
  else if (level == SOL_SOCKET) ret = R.getsockopt(fd, level, name, val, len); /* buffers etc. */
  else if (level != SOL_NETLINK) ret = fail(ENOPROTOOPT);
  else if (len == NULL) ret = fail(EFAULT);
  else if ((int)*len < 0) ret = fail(EINVAL);
  /* kernel: netlink_getsockopt() answers ENOPROTOOPT for unknown names before checking len */
  else if ((ret = status_of(shim_call(s, DPEM_OP_GETSOCKOPT, 0, (uint32_t)name, *len, NULL, 0, &rep), &rep)) == 0) {
    if (*len < sizeof(int)) ret = fail(EINVAL);
    else if (val == NULL) ret = fail(EFAULT);
    else {
      int v = (int)rep.value;
      memcpy(val, &v, sizeof(v));
      *len = sizeof(int);
    }
  }
  emu_put(s);
  return ret;
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len) {
  shim_init();
  struct emu_sock *s = emu_get(fd);
  if (s == NULL) return R.setsockopt(fd, level, name, val, len);
  int ret;
  struct dpem_rep rep;
  if (level == SOL_SOCKET) ret = R.setsockopt(fd, level, name, val, len);
  else if (level != SOL_NETLINK) ret = fail(ENOPROTOOPT);
  else if (len > 0 && val == NULL) ret = fail(EFAULT);
  else {
    struct iovec iov = {(void *)val, len < DPEM_MAX_SOCKOPT ? len : DPEM_MAX_SOCKOPT};
    ret = status_of(shim_call(s, DPEM_OP_SETSOCKOPT, 0, (uint32_t)name, 0, &iov, 1, &rep), &rep);
  }
  emu_put(s);
  return ret;
}
