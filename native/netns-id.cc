// The network-namespace id (nsid) of a TAP device that was moved to another namespace, as the
// kernel's peernet2id() reports it to the emulator's namespace: OVS_VPORT_ATTR_NETNSID.
#include <linux/if_tun.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "common.h"

#ifndef TUNGETDEVNETNS
#define TUNGETDEVNETNS _IO('T', 227)
#endif

namespace ovsdpemu {
namespace {

// Asks rtnetlink (RTM_GETNSID with NETNSA_FD) for the id of the namespace behind nsfd.
int QueryNsid(int nsfd, int* nsid) {
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0) return -errno;
  struct {
    nlmsghdr nh;
    rtgenmsg g;
    char pad[3];
    nlattr a;
    uint32_t fd;
  } req;
  std::memset(&req, 0, sizeof(req));
  req.nh.nlmsg_len = sizeof(req);
  req.nh.nlmsg_type = RTM_GETNSID;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = 1;
  req.g.rtgen_family = AF_UNSPEC;
  req.a.nla_len = NLA_HDRLEN + sizeof(uint32_t);
  req.a.nla_type = NETNSA_FD;
  req.fd = static_cast<uint32_t>(nsfd);
  if (send(s, &req, sizeof(req), 0) < 0) {
    int err = errno;
    close(s);
    return -err;
  }
  char buf[512];
  ssize_t n = recv(s, buf, sizeof(buf), 0);
  int err = n < 0 ? errno : 0;
  close(s);
  if (n < 0) return -err;
  auto* nh = reinterpret_cast<nlmsghdr*>(buf);
  if (!NLMSG_OK(nh, static_cast<unsigned>(n))) return -EPROTO;
  if (nh->nlmsg_type == NLMSG_ERROR) return reinterpret_cast<nlmsgerr*>(NLMSG_DATA(nh))->error;
  int len = static_cast<int>(nh->nlmsg_len) - NLMSG_LENGTH(sizeof(rtgenmsg));
  auto* a = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(NLMSG_DATA(nh)) + NLMSG_ALIGN(sizeof(rtgenmsg)));
  for (; len >= static_cast<int>(NLA_HDRLEN) && a->nla_len >= NLA_HDRLEN && a->nla_len <= len;
       len -= NLA_ALIGN(a->nla_len), a = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(a) + NLA_ALIGN(a->nla_len))) {
    if ((a->nla_type & NLA_TYPE_MASK) == NETNSA_NSID) {
      std::memcpy(nsid, reinterpret_cast<char*>(a) + NLA_HDRLEN, sizeof(int32_t));
      return 0;
    }
  }
  return -ENOENT;
}

// tapNetnsId(fd) -> nsid (>= 0) | null when the device is in our own namespace | -errno.
Napi::Value TapNetnsId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return TypeError(env, "tapNetnsId(fd: number)");
  int nsfd = ioctl(fd, TUNGETDEVNETNS);
  if (nsfd < 0) return NegErrno(env, errno);
  struct stat dev_ns, own_ns;
  int rc;
  if (fstat(nsfd, &dev_ns) != 0 || stat("/proc/self/ns/net", &own_ns) != 0) {
    rc = -errno;
  } else if (dev_ns.st_ino == own_ns.st_ino && dev_ns.st_dev == own_ns.st_dev) {
    close(nsfd);
    return env.Null();
  } else {
    int nsid = -1;
    rc = QueryNsid(nsfd, &nsid);
    if (rc == 0) rc = nsid;
  }
  close(nsfd);
  return Napi::Number::New(env, rc);
}

}  // namespace

void InitNetnsId(Napi::Env env, Napi::Object exports) {
  exports.Set("tapNetnsId", Napi::Function::New(env, TapNetnsId, "tapNetnsId"));
}

}  // namespace ovsdpemu
