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
int GetLink(const char* name, int nsid, int* ifindex, unsigned* flags, uint8_t* stats64) {
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0) return -errno;
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
  if (send(s, &req, req.nh.nlmsg_len, 0) < 0) {
    int err = errno;
    close(s);
    return -err;
  }
  static uint8_t buf[16384];
  ssize_t n = recv(s, buf, sizeof(buf), 0);
  int err = n < 0 ? errno : 0;
  close(s);
  if (n < 0) return -err;
  auto* nh = reinterpret_cast<nlmsghdr*>(buf);
  if (!NLMSG_OK(nh, static_cast<unsigned>(n))) return -EPROTO;
  if (nh->nlmsg_type == NLMSG_ERROR) return reinterpret_cast<nlmsgerr*>(NLMSG_DATA(nh))->error;
  if (nh->nlmsg_type != RTM_NEWLINK) return -EPROTO;
  auto* ifi = reinterpret_cast<ifinfomsg*>(NLMSG_DATA(nh));
  *ifindex = ifi->ifi_index;
  *flags = ifi->ifi_flags;
  int len = static_cast<int>(nh->nlmsg_len) - NLMSG_LENGTH(sizeof(ifinfomsg));
  auto* a = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(ifi) + NLMSG_ALIGN(sizeof(ifinfomsg)));
  for (; len >= static_cast<int>(NLA_HDRLEN) && a->nla_len >= NLA_HDRLEN && a->nla_len <= len;
       len -= NLA_ALIGN(a->nla_len), a = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(a) + NLA_ALIGN(a->nla_len))) {
    if ((a->nla_type & NLA_TYPE_MASK) == IFLA_STATS64 && a->nla_len >= NLA_HDRLEN + 64) {
      std::memcpy(stats64, reinterpret_cast<char*>(a) + NLA_HDRLEN, 64);
      return 0;
    }
  }
  return -ENOENT;
}

// tapLink(fd) -> {name, ifindex, flags, stats: Buffer(64)} | -errno: where the TAP device is now
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
  uint8_t stats[64];
  int rc = GetLink(ifr.ifr_name, own == 1 ? -1 : nsid, &ifindex, &flags, stats);
  if (rc < 0) return NegErrno(env, -rc);
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", Napi::String::New(env, std::string(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ))));
  o.Set("ifindex", Napi::Number::New(env, ifindex));
  o.Set("flags", Napi::Number::New(env, flags));
  o.Set("stats", Napi::Buffer<uint8_t>::Copy(env, stats, sizeof(stats)));
  return o;
}

}  // namespace

void InitNetnsId(Napi::Env env, Napi::Object exports) {
  exports.Set("tapNetnsId", Napi::Function::New(env, TapNetnsId, "tapNetnsId"));
  exports.Set("tapLink", Napi::Function::New(env, TapLink, "tapLink"));
}

}  // namespace ovsdpemu
