// TAP devices moved to another namespace: the namespace id (nsid) as the kernel's peernet2id()
// reports it to the emulator's namespace (OVS_VPORT_ATTR_NETNSID), and the device's ifindex and
// counters there (rtnetlink RTM_GETLINK with IFLA_TARGET_NETNSID), which the vport still reports.
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "common.h"

#ifndef TUNGETDEVNETNS
#define TUNGETDEVNETNS _IO('T', 227)
#endif

namespace ovsdpemu {
namespace {

// Sends one rtnetlink request and checks the first reply: the reply's nlmsghdr when it is a
// message of `type`, else nullptr with *err = the NLMSG_ERROR code or -errno or -EPROTO.
const nlmsghdr* RtTransact(const void* req, size_t len, uint16_t type, uint8_t* buf, size_t cap, int* err) {
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0) {
    *err = -errno;
    return nullptr;
  }
  ssize_t n = send(s, req, len, 0);
  if (n >= 0) n = recv(s, buf, cap, 0);
  *err = n < 0 ? -errno : 0;
  close(s);
  if (n < 0) return nullptr;
  auto* nh = reinterpret_cast<const nlmsghdr*>(buf);
  if (!NLMSG_OK(nh, static_cast<unsigned>(n))) {
    *err = -EPROTO;
  } else if (nh->nlmsg_type == NLMSG_ERROR) {
    *err = reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(nh))->error;
  } else if (nh->nlmsg_type != type) {
    *err = -EPROTO;
  }
  return *err ? nullptr : nh;
}

// The first attribute of `type` after a `fixed`-byte family header in message nh, with at least
// `min` payload bytes; nullptr when absent.
const uint8_t* RtAttr(const nlmsghdr* nh, size_t fixed, uint16_t type, size_t min) {
  int len = static_cast<int>(nh->nlmsg_len) - NLMSG_LENGTH(fixed);
  auto* a = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(NLMSG_DATA(nh)) + NLMSG_ALIGN(fixed));
  for (; len >= static_cast<int>(NLA_HDRLEN) && a->nla_len >= NLA_HDRLEN && a->nla_len <= len;
       len -= NLA_ALIGN(a->nla_len), a = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(a) + NLA_ALIGN(a->nla_len))) {
    if ((a->nla_type & NLA_TYPE_MASK) == type && a->nla_len >= NLA_HDRLEN + min) return reinterpret_cast<const uint8_t*>(a) + NLA_HDRLEN;
  }
  return nullptr;
}

// Asks rtnetlink (RTM_GETNSID with NETNSA_FD) for the id of the namespace behind nsfd.
int QueryNsid(int nsfd, int* nsid) {
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
  uint8_t buf[512];
  int err;
  const nlmsghdr* nh = RtTransact(&req, sizeof(req), RTM_NEWNSID, buf, sizeof(buf), &err);
  if (!nh) return err;
  const uint8_t* id = RtAttr(nh, sizeof(rtgenmsg), NETNSA_NSID, sizeof(int32_t));
  if (!id) return -ENOENT;
  std::memcpy(nsid, id, sizeof(int32_t));
  return 0;
}

// Own-or-other namespace test for the TAP behind fd: 1 = ours, 0 = another (nsid set), -errno.
int TapNsid(int fd, int* nsid) {
  int nsfd = ioctl(fd, TUNGETDEVNETNS);
  if (nsfd < 0) return -errno;
  struct stat dev_ns, own_ns;
  int rc;
  if (fstat(nsfd, &dev_ns) != 0 || stat("/proc/self/ns/net", &own_ns) != 0) {
    rc = -errno;
  } else if (dev_ns.st_ino == own_ns.st_ino && dev_ns.st_dev == own_ns.st_dev) {
    rc = 1;
  } else {
    rc = QueryNsid(nsfd, nsid);
  }
  close(nsfd);
  return rc;
}

// tapNetnsId(fd) -> nsid (>= 0) | null when the device is in our own namespace | -errno.
Napi::Value TapNetnsId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return TypeError(env, "tapNetnsId(fd: number)");
  int nsid = -1;
  int own = TapNsid(fd, &nsid);
  if (own == 1) return env.Null();
  return Napi::Number::New(env, own < 0 ? own : nsid);
}

// RTM_GETLINK of `name` in the namespace with id nsid (< 0: ours): ifindex and IFLA_STATS64.
int GetLink(const char* name, int nsid, int* ifindex, unsigned* flags, unsigned* mtu, uint8_t* stats64) {
  struct {
    nlmsghdr nh;
    ifinfomsg ifi;
    nlattr name_a;
    char name[IFNAMSIZ];
    nlattr ns_a;
    int32_t ns;
  } req;
  std::memset(&req, 0, sizeof(req));
  req.nh.nlmsg_type = RTM_GETLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = 1;
  req.ifi.ifi_family = AF_UNSPEC;
  req.name_a.nla_len = NLA_HDRLEN + IFNAMSIZ;
  req.name_a.nla_type = IFLA_IFNAME;
  std::memcpy(req.name, name, strnlen(name, IFNAMSIZ - 1));
  req.ns_a.nla_len = NLA_HDRLEN + sizeof(int32_t);
  req.ns_a.nla_type = IFLA_TARGET_NETNSID;
  req.ns = nsid;
  req.nh.nlmsg_len = nsid < 0 ? offsetof(decltype(req), ns_a) : sizeof(req);
  static uint8_t buf[16384];
  int err;
  const nlmsghdr* nh = RtTransact(&req, req.nh.nlmsg_len, RTM_NEWLINK, buf, sizeof(buf), &err);
  if (!nh) return err;
  auto* ifi = reinterpret_cast<const ifinfomsg*>(NLMSG_DATA(nh));
  *ifindex = ifi->ifi_index;
  *flags = ifi->ifi_flags;
  const uint8_t* m = RtAttr(nh, sizeof(ifinfomsg), IFLA_MTU, sizeof(uint32_t));
  *mtu = 0;
  if (m) std::memcpy(mtu, m, sizeof(uint32_t));
  const uint8_t* st = RtAttr(nh, sizeof(ifinfomsg), IFLA_STATS64, 64);
  if (!st) return -ENOENT;
  std::memcpy(stats64, st, 64);
  return 0;
}

// tapLink(fd) -> {name, ifindex, flags, mtu, stats: Buffer(64)} | -errno: where the TAP device is now
// (its current name, ifindex and IFF_* flags, in whatever namespace it was moved to) and the first eight u64
// counters of its rtnl_link_stats64.
Napi::Value TapLink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return TypeError(env, "tapLink(fd: number)");
  ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  if (ioctl(fd, TUNGETIFF, &ifr) != 0) return NegErrno(env, errno);
  int nsid = -1;
  int own = TapNsid(fd, &nsid);
  if (own < 0) return NegErrno(env, -own);
  int ifindex = 0;
  unsigned flags = 0;
  unsigned mtu = 0;
  uint8_t stats[64];
  int rc = GetLink(ifr.ifr_name, own == 1 ? -1 : nsid, &ifindex, &flags, &mtu, stats);
  if (rc < 0) return NegErrno(env, -rc);
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", Napi::String::New(env, std::string(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ))));
  o.Set("ifindex", Napi::Number::New(env, ifindex));
  o.Set("flags", Napi::Number::New(env, flags));
  o.Set("mtu", Napi::Number::New(env, mtu));
  o.Set("stats", Napi::Buffer<uint8_t>::Copy(env, stats, sizeof(stats)));
  return o;
}

}  // namespace

void InitNetnsId(Napi::Env env, Napi::Object exports) {
  exports.Set("tapNetnsId", Napi::Function::New(env, TapNetnsId, "tapNetnsId"));
  exports.Set("tapLink", Napi::Function::New(env, TapLink, "tapLink"));
}

}  // namespace ovsdpemu
