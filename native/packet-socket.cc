// AF_PACKET sockets for netdev vports: the emulator's stand-in for the rx_handler the kernel's
// vport-netdev.c registers. One socket per attached device, bound to its ifindex, promiscuous
// (dev_set_promiscuity(dev, 1)), blind to frames the host itself transmits on the device, with
// a virtio_net_hdr in front of every frame (checksum and GSO state, both ways) and the VLAN
// tag a driver accelerated out of the frame reported as auxdata.
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "common.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

namespace ovsdpemu {
namespace {

// sizeof(struct virtio_net_hdr): flags, gso_type, hdr_len, gso_size, csum_start, csum_offset
// (<linux/virtio_net.h> does not compile as C++).
constexpr size_t kVnetHdrLen = 10;

int SetOpt(int fd, int opt, const void* val, socklen_t len) {
  return setsockopt(fd, SOL_PACKET, opt, val, len) == 0 ? 0 : -errno;
}

// packetOpen(ifindex) -> fd | -errno. Non-blocking, close-on-exec.
Napi::Value PacketOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return TypeError(env, "packetOpen(ifindex: number)");
  int ifindex = info[0].As<Napi::Number>().Int32Value();
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) return NegErrno(env, errno);
  int one = 1;
  packet_mreq mr;
  std::memset(&mr, 0, sizeof(mr));
  mr.mr_ifindex = ifindex;
  mr.mr_type = PACKET_MR_PROMISC;
  sockaddr_ll sll;
  std::memset(&sll, 0, sizeof(sll));
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  int rc = SetOpt(fd, PACKET_VNET_HDR, &one, sizeof(one));
  if (rc == 0) rc = SetOpt(fd, PACKET_AUXDATA, &one, sizeof(one));
  // Older kernels lack it; frames the host sends are then filtered by sll_pkttype below.
  if (rc == 0) SetOpt(fd, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
  // The kernel's rx_handler has no queue; ours must absorb bursts of 64 KiB GSO frames while the
  // event loop is busy. SO_RCVBUFFORCE (CAP_NET_ADMIN) may exceed rmem_max; else best effort.
  int rcvbuf = 16 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  if (rc == 0 && bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) != 0) rc = -errno;
  if (rc == 0) rc = SetOpt(fd, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr));
  if (rc < 0) {
    close(fd);
    return NegErrno(env, -rc);
  }
  return Napi::Number::New(env, fd);
}

// packetRecv(fd, max) -> {vnet: Buffer(10), frame: Buffer, status, vlanTci, vlanTpid} | -errno.
// Frames the host transmitted (PACKET_OUTGOING) and unreadable ones are skipped; -EAGAIN when
// the queue is empty. A frame longer than max is consumed and reported as -EMSGSIZE.
Napi::Value PacketRecv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd) || info.Length() < 2 || !info[1].IsNumber()) return TypeError(env, "packetRecv(fd: number, max: number)");
  int64_t max = info[1].As<Napi::Number>().Int64Value();
  if (max <= 0 || max > (64 << 20)) return TypeError(env, "packetRecv: max out of range");
  const size_t vlen = kVnetHdrLen;
  uint8_t* buf = Scratch(static_cast<size_t>(max) + vlen);
  for (;;) {
    iovec iov = {buf, static_cast<size_t>(max) + vlen};
    sockaddr_ll from;
    alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(tpacket_auxdata))];
    msghdr msg;
    std::memset(&msg, 0, sizeof(msg));
    msg.msg_name = &from;
    msg.msg_namelen = sizeof(from);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      // EINVAL: the kernel could not express the skb's GSO state as a virtio_net_hdr; the
      // frame is gone, carry on with the next one.
      if (errno == EINTR || errno == EINVAL) continue;
      return NegErrno(env, errno);
    }
    if (from.sll_pkttype == PACKET_OUTGOING) continue;
    if (static_cast<size_t>(n) < vlen) continue;
    if (msg.msg_flags & MSG_TRUNC) return NegErrno(env, EMSGSIZE);
    uint32_t status = 0;
    uint16_t tci = 0, tpid = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
      tpacket_auxdata aux;
      std::memcpy(&aux, CMSG_DATA(c), sizeof(aux));
      status = aux.tp_status;
      tci = aux.tp_vlan_tci;
      tpid = aux.tp_vlan_tpid;
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("vnet", Napi::Buffer<uint8_t>::Copy(env, buf, vlen));
    o.Set("frame", Napi::Buffer<uint8_t>::Copy(env, buf + vlen, static_cast<size_t>(n) - vlen));
    o.Set("status", Napi::Number::New(env, status));
    o.Set("vlanTci", Napi::Number::New(env, tci));
    o.Set("vlanTpid", Napi::Number::New(env, tpid));
    return o;
  }
}

}  // namespace

void InitPacketSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("packetOpen", Napi::Function::New(env, PacketOpen, "packetOpen"));
  exports.Set("packetRecv", Napi::Function::New(env, PacketRecv, "packetRecv"));
}

}  // namespace ovsdpemu
