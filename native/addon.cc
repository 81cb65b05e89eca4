// Module entry point of ovsdpemu.node: registers the groups of wrappers.
#include "common.h"

#include <vector>

namespace ovsdpemu {

uint8_t* Scratch(size_t len) {
  static std::vector<uint8_t> buf;
  if (buf.size() < len) buf.resize(len);
  return buf.data();
}

}  // namespace ovsdpemu

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  ovsdpemu::InitFdWatcher(env, exports);
  ovsdpemu::InitSeqpacket(env, exports);
  ovsdpemu::InitTap(env, exports);
  ovsdpemu::InitNetnsId(env, exports);
  ovsdpemu::InitPacketSocket(env, exports);
  return exports;
}

NODE_API_MODULE(ovsdpemu, Init)
