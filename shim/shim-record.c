/*
 * Passthrough recording (`ovs-dpemu record -- CMD`): with OVS_DPEMU_RECORD=PATH in the
 * environment, socket(AF_NETLINK, …, NETLINK_GENERIC) returns the kernel's own socket, and every
 * datagram sent on it or received from it is copied to the recorder listening at PATH.
 *
 * The recorder connection is one SOCK_SEQPACKET unix connection per process image, opened
 * lazily and close-on-exec (an exec'd image opens its own). A fork() child keeps using the
 * inherited connection: each copy is one atomic datagram carrying getpid(), so parent and child
 * never interleave bytes. Sends to the recorder block (a slow recorder slows the client rather
 * than losing records); if the recorder goes away recording stops for the process. Wire format:
 * PROTOCOL.md "Recording".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim.h"

#define REC_SNDBUF (4 << 20)
#define REC_FALLBACK_CAP 65536 /* what a copy is cut to when the whole datagram does not fit */
#define REC_MAX_IOV 64         /* longer iovec arrays are gathered into one buffer */

static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int rec_fd = -1;
static atomic_int rec_gone; /* the recorder hung up or never answered: stop trying */

const char *shim_record_path(void) {
  const char *p = getenv("OVS_DPEMU_RECORD");
  return p != NULL && p[0] != '\0' ? p : NULL;
}

static void hint_once(const char *path, int err) {
  static atomic_int done;
  if (atomic_exchange(&done, 1)) return;
  dprintf(2, "ovs-dpemu: recorder not reachable at %s (%s); generic netlink is not recorded\n", path, strerror(err));
}

/* Called with rec_mu held. Returns the connection or -errno. */
static int rec_connect(void) {
  const char *path = shim_record_path();
  if (path == NULL) return -ENOENT;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path)) return -ENAMETOOLONG;
  memcpy(sa.sun_path, path, strlen(path));
  int fd = R.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (R.connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    int err = -errno;
    R.close(fd);
    return err;
  }
  int sz = REC_SNDBUF;
  if (R.setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) != 0)
    R.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
  struct dpem_hello h = {DPEM_MAGIC, DPEM_VERSION, DPEM_KIND_RECORD, NETLINK_GENERIC, 0};
  if (R.send(fd, &h, sizeof(h), MSG_NOSIGNAL) != (ssize_t)sizeof(h)) {
    int err = -errno;
    R.close(fd);
    return err;
  }
  return fd;
}

/* The connection, opened on first use; -1 once the recorder is gone. */
static int rec_get(void) {
  int fd = atomic_load(&rec_fd);
  if (fd >= 0 || atomic_load(&rec_gone)) return fd;
  pthread_mutex_lock(&rec_mu);
  fd = atomic_load(&rec_fd);
  if (fd < 0 && !atomic_load(&rec_gone)) {
    fd = rec_connect();
    if (fd < 0) {
      atomic_store(&rec_gone, 1);
      hint_once(shim_record_path() ? shim_record_path() : "(unset)", -fd);
      fd = -1;
    } else {
      atomic_store(&rec_fd, fd);
    }
  }
  pthread_mutex_unlock(&rec_mu);
  return fd;
}

/* The recorder hung up: stop recording (closing only a connection that is still ours). */
static void rec_drop(int fd) {
  atomic_store(&rec_gone, 1);
  if (atomic_compare_exchange_strong(&rec_fd, &fd, -1)) R.close(fd);
}

void shim_rec_forget_fd(int fd) {
  int cur = atomic_load(&rec_fd);
  if (fd >= 0 && fd == cur) atomic_compare_exchange_strong(&rec_fd, &cur, -1);
}

void shim_rec_forget_range(unsigned int lo, unsigned int hi) {
  int cur = atomic_load(&rec_fd);
  if (cur >= 0 && (unsigned int)cur >= lo && (unsigned int)cur <= hi) shim_rec_forget_fd(cur);
}

void shim_rec_lock(void) { pthread_mutex_lock(&rec_mu); }
void shim_rec_unlock(void) { pthread_mutex_unlock(&rec_mu); }

void shim_rec_track(int fd, int type, int protocol) {
  if (rec_get() < 0) return;
  struct emu_sock *s = calloc(1, sizeof(*s));
  if (s == NULL) return;
  s->type = type;
  s->protocol = protocol;
  s->passthrough = 1;
  atomic_init(&s->refs, 0);
  atomic_init(&s->portid, 0);
  fdtab_set(fd, s);
}

/* The socket's port id: netlink binds once and never changes it, so a non-zero one is cached. */
static uint32_t portid_of(int fd, struct emu_sock *s) {
  uint32_t p = atomic_load(&s->portid);
  if (p != 0) return p;
  struct sockaddr_nl nl;
  socklen_t len = sizeof(nl);
  if (R.getsockname(fd, (struct sockaddr *)&nl, &len) != 0 || nl.nl_family != AF_NETLINK) return 0;
  atomic_store(&s->portid, nl.nl_pid);
  return nl.nl_pid;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sends header + `len` bytes of iov (already trimmed to len) as one datagram. */
static void rec_emit(struct dpem_rec *h, const struct iovec *iov, size_t iovcnt, size_t len) {
  int fd = rec_get();
  if (fd < 0) return;
  void *gathered = NULL;
  struct iovec one;
  if (iovcnt > REC_MAX_IOV) {
    gathered = malloc(len);
    if (gathered == NULL) return;
    size_t off = 0;
    for (size_t i = 0; i < iovcnt && off < len; i++) {
      size_t n = iov[i].iov_len < len - off ? iov[i].iov_len : len - off;
      memcpy((char *)gathered + off, iov[i].iov_base, n);
      off += n;
    }
    one.iov_base = gathered;
    one.iov_len = len;
    iov = &one;
    iovcnt = 1;
  }
  struct iovec v[1 + REC_MAX_IOV];
  v[0].iov_base = h;
  v[0].iov_len = sizeof(*h);
  size_t nv = 1, left = len;
  for (size_t i = 0; i < iovcnt && left > 0; i++) {
    size_t n = iov[i].iov_len < left ? iov[i].iov_len : left;
    if (n == 0) continue;
    v[nv].iov_base = iov[i].iov_base;
    v[nv].iov_len = n;
    nv++;
    left -= n;
  }
  struct msghdr mh = {.msg_iov = v, .msg_iovlen = nv};
  ssize_t n;
  for (int attempt = 0; attempt < 2; attempt++) {
    do n = R.sendmsg(fd, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n >= 0 || errno != EMSGSIZE || len <= REC_FALLBACK_CAP) break;
    /* Larger than the recorder connection takes: keep the head, say it is cut. */
    h->flags |= DPEM_REC_TRUNCATED;
    size_t keep = REC_FALLBACK_CAP, k = 1;
    for (size_t i = 1; i < nv && keep > 0; i++, k++) {
      if (v[i].iov_len > keep) v[i].iov_len = keep;
      keep -= v[i].iov_len;
    }
    mh.msg_iovlen = k;
  }
  if (n < 0 && errno != EMSGSIZE) rec_drop(fd);
  free(gathered);
}

ssize_t shim_rec_send(int fd, struct emu_sock *s, const struct iovec *iov, size_t iovcnt,
                      const void *name, socklen_t namelen, int flags) {
  uint64_t t = now_ns();
  struct msghdr m = {.msg_name = (void *)name, .msg_namelen = namelen, .msg_iov = (struct iovec *)iov,
                     .msg_iovlen = iovcnt};
  ssize_t n = R.sendmsg(fd, &m, flags);
  if (n < 0) return n;
  int saved = errno;
  struct dpem_rec h = {.dir = DPEM_REC_TO_KERNEL, .protocol = (uint32_t)s->protocol, .pid = (uint32_t)getpid(),
                       .portid = portid_of(fd, s), .time_ns = t, .orig_len = (uint32_t)n, .fd = (uint32_t)fd};
  if (name != NULL && namelen >= sizeof(struct sockaddr_nl)) {
    const struct sockaddr_nl *nl = name;
    h.peer_pid = nl->nl_pid;
    h.peer_groups = nl->nl_groups;
  }
  rec_emit(&h, iov, iovcnt, (size_t)n);
  errno = saved;
  return n;
}

/* Copies up to `n` bytes of buf into the caller's iovecs. */
static void scatter(const struct msghdr *m, const char *buf, size_t n) {
  for (size_t i = 0, off = 0; i < m->msg_iovlen && off < n; i++) {
    size_t k = m->msg_iov[i].iov_len < n - off ? m->msg_iov[i].iov_len : n - off;
    memcpy(m->msg_iov[i].iov_base, buf + off, k);
    off += k;
  }
}

/*
 * kernel: netlink_recvmsg() does the work. A zero-length MSG_PEEK|MSG_TRUNC read first learns
 * the next datagram's size (waiting as the caller's read would, and returning the error it
 * would: EAGAIN, ENOBUFS, EINTR); it leaves the kernel's max_recvmsg_len alone. A datagram that
 * fits is read straight into the caller's buffers; a longer one (the caller reads short and
 * loses the tail, as with the kernel) is read whole into a buffer of ours, so the record keeps
 * all of it. Peeks by the caller are not recorded: the datagram will be read for real.
 */
ssize_t shim_rec_recv(int fd, struct emu_sock *s, struct msghdr *m, int flags) {
  if (flags & MSG_PEEK) return R.recvmsg(fd, m, flags);
  size_t cap = 0;
  for (size_t i = 0; i < m->msg_iovlen; i++) cap += m->msg_iov[i].iov_len;
  char probe;
  struct iovec piov = {&probe, 0};
  struct msghdr pm = {.msg_iov = &piov, .msg_iovlen = 1};
  ssize_t size = R.recvmsg(fd, &pm, (flags & ~MSG_TRUNC) | MSG_PEEK | MSG_TRUNC);
  if (size < 0) return size;

  struct sockaddr_nl from;
  memset(&from, 0, sizeof(from));
  struct msghdr mh = *m;
  mh.msg_name = &from;
  mh.msg_namelen = sizeof(from);
  char *big = NULL;
  struct iovec one;
  if ((size_t)size > cap) {
    big = malloc((size_t)size);
    if (big != NULL) {
      one.iov_base = big;
      one.iov_len = (size_t)size;
      mh.msg_iov = &one;
      mh.msg_iovlen = 1;
    }
  }
  ssize_t n = R.recvmsg(fd, &mh, flags | MSG_TRUNC);
  if (n < 0) {
    int saved = errno;
    free(big);
    errno = saved;
    return n;
  }
  int saved = errno;
  uint64_t t = now_ns();
  size_t got = (size_t)n < cap ? (size_t)n : cap; /* what the caller receives */
  size_t have = got;                              /* what we can record */
  const struct iovec *rec_iov = m->msg_iov;
  size_t rec_iovcnt = m->msg_iovlen;
  if (mh.msg_iov == &one) {
    have = (size_t)n < one.iov_len ? (size_t)n : one.iov_len;
    scatter(m, big, got);
    rec_iov = &one;
    rec_iovcnt = 1;
  }
  if (m->msg_name != NULL) {
    memcpy(m->msg_name, &from, m->msg_namelen < mh.msg_namelen ? m->msg_namelen : mh.msg_namelen);
    m->msg_namelen = mh.msg_namelen;
  }
  m->msg_controllen = mh.msg_controllen;
  m->msg_flags = (mh.msg_flags & ~MSG_TRUNC) | ((size_t)n > cap ? MSG_TRUNC : 0);
  struct dpem_rec h = {.dir = DPEM_REC_FROM_KERNEL, .flags = have < (size_t)n ? DPEM_REC_TRUNCATED : 0,
                       .protocol = (uint32_t)s->protocol, .pid = (uint32_t)getpid(), .portid = portid_of(fd, s),
                       .peer_pid = from.nl_pid, .peer_groups = from.nl_groups, .time_ns = t,
                       .orig_len = (uint32_t)n, .fd = (uint32_t)fd};
  rec_emit(&h, rec_iov, rec_iovcnt, have);
  free(big);
  errno = saved;
  return (flags & MSG_TRUNC) ? n : (ssize_t)got;
}
