/*
 * Connections to the emulator: the per-socket data connection (opened by socket()) and the
 * per-process control connection that carries every request and blocks until the emulator
 * answers. The emulator writes a request's replies into the data connection before it answers
 * on the control connection, so they are readable when the intercepted send returns.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim.h"

#define ROOT_SOCKET_PATH "/run/ovs-dpemu/ovs-dpemu.sock"
#define CTL_SNDBUF (4 << 20) /* large requests (PACKET_EXECUTE) must fit one datagram */
#define HELLO_TIMEOUT_S 10

static pthread_mutex_t ctl_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int ctl_fd = -1;
static pid_t ctl_pid;

void shim_socket_path(char *buf, size_t len) {
  const char *env = getenv("OVS_DPEMU_SOCKET");
  if (env != NULL && env[0] != '\0') {
    snprintf(buf, len, "%s", env);
    return;
  }
  uid_t uid = geteuid();
  if (uid == 0) {
    snprintf(buf, len, "%s", ROOT_SOCKET_PATH);
    return;
  }
  const char *dir = getenv("XDG_RUNTIME_DIR");
  if (dir == NULL || dir[0] == '\0') dir = "/tmp";
  snprintf(buf, len, "%s/ovs-dpemu-%u.sock", dir, (unsigned)uid);
}

static ssize_t recv_retry(int fd, void *buf, size_t len) {
  ssize_t n;
  do n = R.recv(fd, buf, len, 0);
  while (n < 0 && errno == EINTR);
  return n;
}

/*
 * Connects to the emulator and exchanges the hello. Returns the fd or -errno; *unreachable is
 * set when nothing (or something that is not an emulator) answers at the path.
 */
static int open_conn(uint16_t kind, uint32_t protocol, uint32_t type, int cloexec,
                     struct dpem_hello_reply *rep, int *unreachable) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  char path[sizeof(sa.sun_path) + 1];
  shim_socket_path(path, sizeof(path));
  *unreachable = 1;
  if (strlen(path) >= sizeof(sa.sun_path)) return -ENAMETOOLONG;
  memcpy(sa.sun_path, path, strlen(path));

  int fd = R.socket(AF_UNIX, SOCK_SEQPACKET | (cloexec ? SOCK_CLOEXEC : 0), 0);
  if (fd < 0) {
    *unreachable = 0;
    return -errno;
  }
  int err;
  if (R.connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    err = -errno;
    goto fail;
  }
  /* A live but wedged emulator must not hang socket() forever. */
  struct timeval tv = {.tv_sec = HELLO_TIMEOUT_S};
  R.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  struct dpem_hello h = {DPEM_MAGIC, DPEM_VERSION, kind, protocol, type};
  if (R.send(fd, &h, sizeof(h), MSG_NOSIGNAL) != (ssize_t)sizeof(h)) {
    err = -errno;
    goto fail;
  }
  ssize_t n = recv_retry(fd, rep, sizeof(*rep));
  if (n != (ssize_t)sizeof(*rep) || rep->magic != DPEM_MAGIC) {
    err = n < 0 ? -errno : -EPROTO;
    goto fail;
  }
  *unreachable = 0;
  if (rep->status < 0) {
    err = rep->status;
    goto fail;
  }
  tv.tv_sec = 0;
  R.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
fail:
  R.close(fd);
  return err;
}

/* One line per process, naming the path, when we hand out a kernel socket instead. */
static void hint_once(int err) {
  static atomic_int done;
  if (atomic_exchange(&done, 1)) return;
  char path[256];
  shim_socket_path(path, sizeof(path));
  dprintf(2, "ovs-dpemu: emulator not reachable at %s (%s); using the kernel's netlink\n", path,
          strerror(-err));
}

int shim_open_data(int protocol, int type, int cloexec, struct dpem_hello_reply *hello, int *fallback) {
  int fd = open_conn(DPEM_KIND_DATA, (uint32_t)protocol, (uint32_t)type, cloexec, hello, fallback);
  if (fd < 0 && *fallback) hint_once(fd);
  return fd;
}

/* Called with ctl_mu held. A control fd inherited over fork() belongs to the parent's
 * conversation: drop our copy and open our own. */
static int ctl_get(void) {
  int fd = atomic_load(&ctl_fd);
  if (fd >= 0 && ctl_pid == getpid()) return fd;
  if (fd >= 0) R.close(fd);
  atomic_store(&ctl_fd, -1);
  struct dpem_hello_reply rep;
  int unreachable;
  fd = open_conn(DPEM_KIND_CONTROL, 0, 0, 1, &rep, &unreachable);
  if (fd < 0) return fd;
  int sz = CTL_SNDBUF;
  if (R.setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) != 0)
    R.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
  ctl_pid = getpid();
  atomic_store(&ctl_fd, fd);
  return fd;
}

static void ctl_drop(int fd) {
  if (atomic_compare_exchange_strong(&ctl_fd, &fd, -1)) R.close(fd);
}

int shim_call(struct emu_sock *s, uint16_t op, uint16_t flags, uint32_t arg0, uint32_t arg1,
              const struct iovec *payload, int npayload, struct dpem_rep *rep) {
  struct dpem_req req = {op, flags, s->sockid, s->token, arg0, arg1};
  struct iovec iov[1 + 8];
  if (npayload > 8) return -EINVAL;
  iov[0].iov_base = &req;
  iov[0].iov_len = sizeof(req);
  for (int i = 0; i < npayload; i++) iov[1 + i] = payload[i];
  struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)(1 + npayload)};

  pthread_mutex_lock(&ctl_mu);
  int rc;
  int fd = ctl_get();
  if (fd < 0) {
    rc = -ECONNRESET;
    goto out;
  }
  ssize_t n;
  do n = R.sendmsg(fd, &mh, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    rc = -errno;
    /* EMSGSIZE is the request's fault; anything else means the connection is gone. */
    if (rc != -EMSGSIZE) {
      ctl_drop(fd);
      rc = -ECONNRESET;
    }
    goto out;
  }
  /* Once the request is out we must read its answer, or the conversation desynchronises. */
  n = recv_retry(fd, rep, sizeof(*rep));
  if (n != (ssize_t)sizeof(*rep) || rep->op != op) {
    ctl_drop(fd);
    rc = -ECONNRESET;
    goto out;
  }
  rc = 0;
out:
  pthread_mutex_unlock(&ctl_mu);
  return rc;
}

void shim_forget_fd(int fd) {
  shim_rec_forget_fd(fd);
  int cur = atomic_load(&ctl_fd);
  if (fd >= 0 && fd == cur) atomic_compare_exchange_strong(&ctl_fd, &cur, -1);
}

void shim_forget_range(unsigned int lo, unsigned int hi) {
  shim_rec_forget_range(lo, hi);
  int cur = atomic_load(&ctl_fd);
  if (cur >= 0 && (unsigned int)cur >= lo && (unsigned int)cur <= hi) shim_forget_fd(cur);
}

void shim_ctl_lock(void) { pthread_mutex_lock(&ctl_mu); }
void shim_ctl_unlock(void) { pthread_mutex_unlock(&ctl_mu); }

void shim_ctl_child(void) {
  int fd = atomic_exchange(&ctl_fd, -1);
  if (fd >= 0) R.close(fd);
  pthread_mutex_unlock(&ctl_mu);
}
