/*
 * Datagram I/O on emulated sockets. Sends become a synchronous SEND on the control connection
 * (replies are queued on the data connection when it returns); receives read the data
 * connection directly, asking the emulator for the next dump chunk when the queue runs dry
 * (the kernel refills inside recvmsg) and turning the overrun marker into ENOBUFS once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "shim.h"

#define MAX_DIRECT_IOV 8 /* shim_call's limit; longer iovec arrays are gathered first */

static ssize_t fail(int err) {
  errno = err;
  return -1;
}

/* kernel: netlink_sendmsg() — checks and error order follow it. */
static ssize_t emu_send(struct emu_sock *s, const struct iovec *iov, size_t iovcnt,
                        const void *name, socklen_t namelen, int flags) {
  if (flags & MSG_OOB) return fail(EOPNOTSUPP);
  size_t total = 0;
  for (size_t i = 0; i < iovcnt; i++) total += iov[i].iov_len;
  if (total == 0) return fail(ENODATA);
  uint16_t rflags = 0;
  uint32_t pid = 0, groups = 0;
  if (namelen != 0) {
    const struct sockaddr_nl *nl = name;
    if (namelen < sizeof(*nl)) return fail(EINVAL);
    if (nl == NULL) return fail(EFAULT);
    if (nl->nl_family != AF_NETLINK) return fail(EINVAL);
    rflags = DPEM_REQ_HAS_ADDR;
    pid = nl->nl_pid;
    groups = nl->nl_groups;
  }
  /* OVS batches one nlmsg per iovec; they travel as one datagram, as with the kernel. */
  void *gathered = NULL;
  struct iovec one;
  if (iovcnt > MAX_DIRECT_IOV) {
    gathered = malloc(total);
    if (gathered == NULL) return fail(ENOBUFS);
    size_t off = 0;
    for (size_t i = 0; i < iovcnt; i++) {
      memcpy((char *)gathered + off, iov[i].iov_base, iov[i].iov_len);
      off += iov[i].iov_len;
    }
    one.iov_base = gathered;
    one.iov_len = total;
    iov = &one;
    iovcnt = 1;
  }
  struct dpem_rep rep;
  int rc = shim_call(s, DPEM_OP_SEND, rflags, pid, groups, iov, (int)iovcnt, &rep);
  free(gathered);
  if (rc < 0) return fail(-rc);
  if (rep.status < 0) return fail(-rep.status);
  atomic_store(&s->dump_pending, (rep.flags & DPEM_REP_DUMP_PENDING) != 0);
  return (ssize_t)total;
}

static int queue_empty(int fd) {
  int n = 0;
  return ioctl(fd, SIOCINQ, &n) == 0 && n == 0;
}

static void refill(struct emu_sock *s) {
  struct dpem_rep rep;
  int rc = shim_call(s, DPEM_OP_REFILL, 0, 0, 0, NULL, 0, &rep);
  /* On any failure forget the dump rather than ask again on every read. */
  int pending = rc == 0 && rep.status >= 0 && (rep.flags & DPEM_REP_DUMP_PENDING);
  atomic_store(&s->dump_pending, pending);
}

/* kernel: netlink_recvmsg(). `m` carries the caller's iovecs/control; name is filled here. */
static ssize_t emu_recv(int fd, struct emu_sock *s, struct msghdr *m, int flags) {
  if (flags & MSG_OOB) return fail(EOPNOTSUPP);
  if (atomic_load(&s->dump_pending) && queue_empty(fd)) refill(s);

  struct msghdr mh = {.msg_iov = m->msg_iov, .msg_iovlen = m->msg_iovlen,
                      .msg_control = m->msg_control, .msg_controllen = m->msg_controllen};
  /* Always ask for the full length: it tells the overrun marker apart whatever the buffer. */
  ssize_t n = R.recvmsg(fd, &mh, flags | MSG_TRUNC);
  if (n < 0) return -1;
  if (n > 0 && n <= DPEM_MARKER_MAX) {
    /* kernel: sock_error() reports ENOBUFS once, also to a peeking reader. */
    if (flags & MSG_PEEK) {
      char b[DPEM_MARKER_MAX];
      R.recv(fd, b, sizeof(b), MSG_DONTWAIT);
    }
    return fail(ENOBUFS);
  }
  /* The kernel queues the next dump chunk once the reader has taken the previous one, so a
   * reader that polls before each read (pyroute2, asyncio) sees it arrive. */
  if (!(flags & MSG_PEEK) && atomic_load(&s->dump_pending) && queue_empty(fd)) refill(s);

  size_t cap = 0;
  for (size_t i = 0; i < m->msg_iovlen; i++) cap += m->msg_iov[i].iov_len;
  m->msg_flags = mh.msg_flags;
  m->msg_controllen = mh.msg_controllen;
  if (m->msg_name != NULL) {
    /* Everything comes from the kernel side of netlink: portid 0, no group. */
    struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
    memcpy(m->msg_name, &nl, m->msg_namelen < sizeof(nl) ? m->msg_namelen : sizeof(nl));
    m->msg_namelen = sizeof(nl);
  }
  return (flags & MSG_TRUNC) || (size_t)n <= cap ? n : (ssize_t)cap;
}

/* Emulated sockets talk to the emulator; passthrough ones to the kernel, recorded. */
static ssize_t do_send(int fd, struct emu_sock *s, const struct iovec *iov, size_t iovcnt,
                       const void *name, socklen_t namelen, int flags) {
  if (s->passthrough) return shim_rec_send(fd, s, iov, iovcnt, name, namelen, flags);
  return emu_send(s, iov, iovcnt, name, namelen, flags);
}

static ssize_t do_recv(int fd, struct emu_sock *s, struct msghdr *m, int flags) {
  return s->passthrough ? shim_rec_recv(fd, s, m, flags) : emu_recv(fd, s, m, flags);
}

static ssize_t recv_into(int fd, struct emu_sock *s, void *buf, size_t len, int flags,
                         struct sockaddr *addr, socklen_t *addrlen) {
  struct iovec iov = {buf, len};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  if (addr != NULL && addrlen != NULL) {
    m.msg_name = addr;
    m.msg_namelen = *addrlen;
  }
  ssize_t n = do_recv(fd, s, &m, flags);
  if (n >= 0 && addr != NULL && addrlen != NULL) *addrlen = m.msg_namelen;
  return n;
}

/* Each wrapper: non-emulated fd → libc untouched; emulated → pinned for the call. */
#define EMULATED_OR(fd, passthrough)      \
  shim_init();                            \
  struct emu_sock *s = fdtab_get(fd);     \
  if (s == NULL) return passthrough;      \
  ssize_t ret = 0

ssize_t send(int fd, const void *buf, size_t len, int flags) {
  EMULATED_OR(fd, R.send(fd, buf, len, flags));
  struct iovec iov = {(void *)buf, len};
  ret = do_send(fd, s, &iov, 1, NULL, 0, flags);
  emu_put(s);
  return ret;
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen) {
  EMULATED_OR(fd, R.sendto(fd, buf, len, flags, to, tolen));
  struct iovec iov = {(void *)buf, len};
  ret = do_send(fd, s, &iov, 1, to, to != NULL ? tolen : 0, flags);
  emu_put(s);
  return ret;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
  EMULATED_OR(fd, R.sendmsg(fd, msg, flags));
  if (msg == NULL) ret = fail(EFAULT);
  else ret = do_send(fd, s, msg->msg_iov, msg->msg_iovlen, msg->msg_name, msg->msg_namelen, flags);
  emu_put(s);
  return ret;
}

ssize_t write(int fd, const void *buf, size_t len) {
  EMULATED_OR(fd, R.write(fd, buf, len));
  struct iovec iov = {(void *)buf, len};
  ret = do_send(fd, s, &iov, 1, NULL, 0, 0);
  emu_put(s);
  return ret;
}

ssize_t recv(int fd, void *buf, size_t len, int flags) {
  EMULATED_OR(fd, R.recv(fd, buf, len, flags));
  ret = recv_into(fd, s, buf, len, flags, NULL, NULL);
  emu_put(s);
  return ret;
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr, socklen_t *addrlen) {
  EMULATED_OR(fd, R.recvfrom(fd, buf, len, flags, addr, addrlen));
  ret = recv_into(fd, s, buf, len, flags, addr, addrlen);
  emu_put(s);
  return ret;
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
  EMULATED_OR(fd, R.recvmsg(fd, msg, flags));
  ret = msg == NULL ? fail(EFAULT) : do_recv(fd, s, msg, flags);
  emu_put(s);
  return ret;
}

ssize_t read(int fd, void *buf, size_t len) {
  EMULATED_OR(fd, R.read(fd, buf, len));
  /* kernel: sock_read_iter() answers a zero-length read with 0 without dequeuing. */
  ret = len == 0 ? 0 : recv_into(fd, s, buf, len, 0, NULL, NULL);
  emu_put(s);
  return ret;
}

/* The batch calls are a loop of the single ones, as the kernel's ___sys_{send,recv}msg loop. */
int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags) {
  EMULATED_OR(fd, R.sendmmsg(fd, vec, vlen, flags));
  unsigned int i;
  for (i = 0; i < vlen; i++) {
    ret = do_send(fd, s, vec[i].msg_hdr.msg_iov, vec[i].msg_hdr.msg_iovlen, vec[i].msg_hdr.msg_name,
                   vec[i].msg_hdr.msg_namelen, flags);
    if (ret < 0) break;
    vec[i].msg_len = (unsigned int)ret;
  }
  emu_put(s);
  return i > 0 ? (int)i : (int)ret;
}

/* The timeout is not emulated (the kernel checks it only between datagrams anyway). */
int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags, struct timespec *timeout) {
  EMULATED_OR(fd, R.recvmmsg(fd, vec, vlen, flags, timeout));
  unsigned int i;
  for (i = 0; i < vlen; i++) {
    ret = do_recv(fd, s, &vec[i].msg_hdr, flags);
    if (ret < 0) break;
    vec[i].msg_len = (unsigned int)ret;
    if (flags & MSG_WAITFORONE) flags |= MSG_DONTWAIT;
  }
  emu_put(s);
  return i > 0 ? (int)i : (int)ret;
}

/* _FORTIFY_SOURCE entry points (OVS is built with them): same, after libc's size check. */
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags) {
  if (len > buflen || !fdtab_peek(fd)) return R.recv_chk(fd, buf, len, buflen, flags);
  return recv(fd, buf, len, flags);
}

ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags, struct sockaddr *addr,
                       socklen_t *addrlen) {
  if (len > buflen || !fdtab_peek(fd)) return R.recvfrom_chk(fd, buf, len, buflen, flags, addr, addrlen);
  return recvfrom(fd, buf, len, flags, addr, addrlen);
}

ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen) {
  if (len > buflen || !fdtab_peek(fd)) return R.read_chk(fd, buf, len, buflen);
  return read(fd, buf, len);
}
