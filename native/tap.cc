// TAP devices and network-namespace entry for internal vports. Interface ioctls go through a
// throwaway AF_INET datagram socket, the way ip(8)/ifconfig do it.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "common.h"

namespace ovsdpemu {
namespace {

bool FillIfr(const std::string& name, ifreq* ifr) {
  std::memset(ifr, 0, sizeof(*ifr));
  if (name.size() >= IFNAMSIZ) return false;
  std::memcpy(ifr->ifr_name, name.data(), name.size());
  return true;
}

// Runs one SIOC* ioctl on an AF_INET control socket; 0 or -errno.
int IfIoctl(unsigned long req, ifreq* ifr) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  int rc = ioctl(s, req, ifr) == 0 ? 0 : -errno;
  close(s);
  return rc;
}

// tapCreate(name) -> {fd, ifindex, name} | -errno. Not persistent: closing fd deletes the device.
Napi::Value TapCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!ArgString(info, 0, &name)) return TypeError(env, "tapCreate(name: string)");
  ifreq ifr;
  if (!FillIfr(name, &ifr)) return NegErrno(env, EINVAL);
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return NegErrno(env, errno);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    int err = errno;
    close(fd);
    return NegErrno(env, err);
  }
  // The kernel may have expanded a "%d" template: report the name it chose.
  std::string actual(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
  ifreq q;
  FillIfr(actual, &q);
  int rc = IfIoctl(SIOCGIFINDEX, &q);
  if (rc < 0) {
    close(fd);
    return NegErrno(env, -rc);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("fd", Napi::Number::New(env, fd));
  o.Set("ifindex", Napi::Number::New(env, q.ifr_ifindex));
  o.Set("name", Napi::String::New(env, actual));
  return o;
}

// setMac(name, Buffer[6]) -> 0 | -errno
Napi::Value SetMac(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  const uint8_t* mac;
  size_t len;
  if (!ArgString(info, 0, &name) || !ArgBytes(info, 1, &mac, &len) || len != 6) return TypeError(env, "setMac(name: string, mac: Buffer(6))");
  ifreq ifr;
  if (!FillIfr(name, &ifr)) return NegErrno(env, EINVAL);
  ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  std::memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
  return Napi::Number::New(env, IfIoctl(SIOCSIFHWADDR, &ifr));
}

// setMtu(name, mtu) -> 0 | -errno
Napi::Value SetMtu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!ArgString(info, 0, &name) || info.Length() < 2 || !info[1].IsNumber()) return TypeError(env, "setMtu(name: string, mtu: number)");
  ifreq ifr;
  if (!FillIfr(name, &ifr)) return NegErrno(env, EINVAL);
  ifr.ifr_mtu = info[1].As<Napi::Number>().Int32Value();
  return Napi::Number::New(env, IfIoctl(SIOCSIFMTU, &ifr));
}

// getIfFlags(name) -> IFF_* flags | -errno
Napi::Value GetIfFlags(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!ArgString(info, 0, &name)) return TypeError(env, "getIfFlags(name: string)");
  ifreq ifr;
  if (!FillIfr(name, &ifr)) return NegErrno(env, EINVAL);
  int rc = IfIoctl(SIOCGIFFLAGS, &ifr);
  return Napi::Number::New(env, rc < 0 ? rc : static_cast<unsigned short>(ifr.ifr_flags));
}

// setIfFlags(name, flags) -> 0 | -errno (e.g. IFF_UP to mirror an internal port going up)
Napi::Value SetIfFlags(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!ArgString(info, 0, &name) || info.Length() < 2 || !info[1].IsNumber()) return TypeError(env, "setIfFlags(name: string, flags: number)");
  ifreq ifr;
  if (!FillIfr(name, &ifr)) return NegErrno(env, EINVAL);
  ifr.ifr_flags = static_cast<short>(info[1].As<Napi::Number>().Int32Value());
  return Napi::Number::New(env, IfIoctl(SIOCSIFFLAGS, &ifr));
}

// ifState(name) -> [IFF_* flags, mtu] | -errno: what do_output() and ovs_vport_send() look at,
// with one control socket.
Napi::Value IfState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!ArgString(info, 0, &name)) return TypeError(env, "ifState(name: string)");
  ifreq ifr;
  if (!FillIfr(name, &ifr)) return NegErrno(env, EINVAL);
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return NegErrno(env, errno);
  int rc = ioctl(s, SIOCGIFFLAGS, &ifr) == 0 ? 0 : -errno;
  unsigned short flags = static_cast<unsigned short>(ifr.ifr_flags);
  if (rc == 0) rc = ioctl(s, SIOCGIFMTU, &ifr) == 0 ? 0 : -errno;
  close(s);
  if (rc < 0) return NegErrno(env, -rc);
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, Napi::Number::New(env, flags));
  a.Set(1u, Napi::Number::New(env, ifr.ifr_mtu));
  return a;
}

// ifIndex(name) -> ifindex | -errno
Napi::Value IfIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!ArgString(info, 0, &name)) return TypeError(env, "ifIndex(name: string)");
  ifreq ifr;
  if (!FillIfr(name, &ifr)) return NegErrno(env, EINVAL);
  int rc = IfIoctl(SIOCGIFINDEX, &ifr);
  return Napi::Number::New(env, rc < 0 ? rc : ifr.ifr_ifindex);
}

// read(fd, max) -> Buffer | -errno (one frame from a TAP fd)
Napi::Value Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd) || info.Length() < 2 || !info[1].IsNumber()) return TypeError(env, "read(fd: number, max: number)");
  int64_t max = info[1].As<Napi::Number>().Int64Value();
  if (max <= 0 || max > (64 << 20)) return TypeError(env, "read: max out of range");
  uint8_t* buf = Scratch(static_cast<size_t>(max));
  ssize_t n;
  do {
    n = read(fd, buf, static_cast<size_t>(max));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return NegErrno(env, errno);
  return Napi::Buffer<uint8_t>::Copy(env, buf, static_cast<size_t>(n));
}

// write(fd, buf) -> bytes | -errno
Napi::Value Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  const uint8_t* data;
  size_t len;
  if (!ArgFd(info, 0, &fd) || !ArgBytes(info, 1, &data, &len)) return TypeError(env, "write(fd: number, buf: Buffer)");
  ssize_t n;
  do {
    n = write(fd, data, len);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? NegErrno(env, errno) : Napi::Number::New(env, static_cast<double>(n));
}

// setnsNet(path) -> 0 | -errno. Moves the calling thread (the main thread: sockets and devices
// created afterwards live in that namespace) into the network namespace at path.
Napi::Value SetnsNet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ArgString(info, 0, &path)) return TypeError(env, "setnsNet(path: string)");
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NegErrno(env, errno);
  int rc = setns(fd, CLONE_NEWNET) == 0 ? 0 : -errno;
  close(fd);
  return Napi::Number::New(env, rc);
}

}  // namespace

void InitTap(Napi::Env env, Napi::Object exports) {
  exports.Set("tapCreate", Napi::Function::New(env, TapCreate, "tapCreate"));
  exports.Set("setMac", Napi::Function::New(env, SetMac, "setMac"));
  exports.Set("setMtu", Napi::Function::New(env, SetMtu, "setMtu"));
  exports.Set("getIfFlags", Napi::Function::New(env, GetIfFlags, "getIfFlags"));
  exports.Set("setIfFlags", Napi::Function::New(env, SetIfFlags, "setIfFlags"));
  exports.Set("ifIndex", Napi::Function::New(env, IfIndex, "ifIndex"));
  exports.Set("ifState", Napi::Function::New(env, IfState, "ifState"));
  exports.Set("read", Napi::Function::New(env, Read, "read"));
  exports.Set("write", Napi::Function::New(env, Write, "write"));
  exports.Set("setnsNet", Napi::Function::New(env, SetnsNet, "setnsNet"));
}

}  // namespace ovsdpemu
