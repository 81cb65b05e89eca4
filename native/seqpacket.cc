// SOCK_SEQPACKET unix sockets for the shim server: listen, accept, peer credentials, and
// non-blocking datagram send/recv. EAGAIN is returned as -EAGAIN, never queued here: the
// emulator core must see a full client queue exactly as netlink_unicast would.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "common.h"

namespace ovsdpemu {
namespace {

bool FillAddr(const std::string& path, sockaddr_un* sa) {
  std::memset(sa, 0, sizeof(*sa));
  sa->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(sa->sun_path)) return false;
  std::memcpy(sa->sun_path, path.data(), path.size());
  return true;
}

// seqpacketListen(path, backlog?) -> fd | -errno
Napi::Value Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ArgString(info, 0, &path)) return TypeError(env, "seqpacketListen(path: string)");
  int backlog = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 128;
  sockaddr_un sa;
  if (!FillAddr(path, &sa)) return NegErrno(env, ENAMETOOLONG);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return NegErrno(env, errno);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || listen(fd, backlog) != 0) {
    int err = errno;
    close(fd);
    return NegErrno(env, err);
  }
  return Napi::Number::New(env, fd);
}

// seqpacketConnect(path) -> fd | -errno. Non-blocking socket; a unix connect completes at once
// (or fails with EAGAIN when the listener's backlog is full).
Napi::Value Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ArgString(info, 0, &path)) return TypeError(env, "seqpacketConnect(path: string)");
  sockaddr_un sa;
  if (!FillAddr(path, &sa)) return NegErrno(env, ENAMETOOLONG);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return NegErrno(env, errno);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    int err = errno;
    close(fd);
    return NegErrno(env, err);
  }
  return Napi::Number::New(env, fd);
}

// accept(fd) -> fd | -errno (the new fd is non-blocking and close-on-exec)
Napi::Value Accept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return TypeError(env, "accept(fd: number)");
  int c = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  return c < 0 ? NegErrno(env, errno) : Napi::Number::New(env, c);
}

// peerCred(fd) -> {pid, uid, gid} | -errno (SO_PEERCRED: what the kernel recorded at connect)
Napi::Value PeerCred(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return TypeError(env, "peerCred(fd: number)");
  ucred cred;
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return NegErrno(env, errno);
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", Napi::Number::New(env, cred.pid));
  o.Set("uid", Napi::Number::New(env, cred.uid));
  o.Set("gid", Napi::Number::New(env, cred.gid));
  return o;
}

// send(fd, buf) -> bytes | -errno. Never blocks, never raises SIGPIPE.
Napi::Value Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  const uint8_t* data;
  size_t len;
  if (!ArgFd(info, 0, &fd) || !ArgBytes(info, 1, &data, &len)) return TypeError(env, "send(fd: number, buf: Buffer)");
  ssize_t n;
  do {
    n = send(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? NegErrno(env, errno) : Napi::Number::New(env, static_cast<double>(n));
}

// recv(fd, maxLen) -> Buffer | -errno. A datagram longer than maxLen is consumed and reported
// as -EMSGSIZE rather than silently truncated.
Napi::Value Recv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd) || info.Length() < 2 || !info[1].IsNumber()) return TypeError(env, "recv(fd: number, maxLen: number)");
  int64_t max = info[1].As<Napi::Number>().Int64Value();
  if (max <= 0 || max > (64 << 20)) return TypeError(env, "recv: maxLen out of range");
  uint8_t* buf = Scratch(static_cast<size_t>(max));
  ssize_t n;
  do {
    n = recv(fd, buf, static_cast<size_t>(max), MSG_DONTWAIT | MSG_TRUNC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return NegErrno(env, errno);
  if (n > max) return NegErrno(env, EMSGSIZE);
  return Napi::Buffer<uint8_t>::Copy(env, buf, static_cast<size_t>(n));
}

// setSndBuf(fd, bytes) -> 0 | -errno. SO_SNDBUFFORCE (CAP_NET_ADMIN) lifts the wmem_max cap;
// without the privilege SO_SNDBUF gives what the sysctl allows.
Napi::Value SetSndBuf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd) || info.Length() < 2 || !info[1].IsNumber()) return TypeError(env, "setSndBuf(fd: number, bytes: number)");
  int v = info[1].As<Napi::Number>().Int32Value();
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) == 0) return Napi::Number::New(env, 0);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)) == 0) return Napi::Number::New(env, 0);
  return NegErrno(env, errno);
}

// close(fd) -> 0 | -errno
Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return TypeError(env, "close(fd: number)");
  return close(fd) == 0 ? Napi::Number::New(env, 0) : NegErrno(env, errno);
}

}  // namespace

void InitSeqpacket(Napi::Env env, Napi::Object exports) {
  exports.Set("seqpacketListen", Napi::Function::New(env, Listen, "seqpacketListen"));
  exports.Set("seqpacketConnect", Napi::Function::New(env, Connect, "seqpacketConnect"));
  exports.Set("accept", Napi::Function::New(env, Accept, "accept"));
  exports.Set("peerCred", Napi::Function::New(env, PeerCred, "peerCred"));
  exports.Set("send", Napi::Function::New(env, Send, "send"));
  exports.Set("recv", Napi::Function::New(env, Recv, "recv"));
  exports.Set("setSndBuf", Napi::Function::New(env, SetSndBuf, "setSndBuf"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
}

}  // namespace ovsdpemu
