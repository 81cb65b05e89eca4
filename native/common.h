// Helpers shared by the addon's translation units. Every wrapper returns -errno instead of
// throwing so the TypeScript side decides policy (EAGAIN is an ordinary answer, not an error).
#pragma once

#include <napi.h>

#include <cerrno>
#include <cstdint>
#include <string>

namespace ovsdpemu {

/** Returns -errno as a JS number (errno captured by the caller right after the syscall). */
inline Napi::Value NegErrno(Napi::Env env, int err) { return Napi::Number::New(env, -err); }

/** Throws a TypeError and returns undefined; used for programming errors only (bad arguments). */
inline Napi::Value TypeError(Napi::Env env, const char* what) {
  Napi::TypeError::New(env, what).ThrowAsJavaScriptException();
  return env.Undefined();
}

/** Reads an fd argument; false (with a pending TypeError) when it is not a non-negative int. */
inline bool ArgFd(const Napi::CallbackInfo& info, size_t i, int* fd) {
  if (info.Length() <= i || !info[i].IsNumber()) return false;
  int64_t v = info[i].As<Napi::Number>().Int64Value();
  if (v < 0 || v > INT32_MAX) return false;
  *fd = static_cast<int>(v);
  return true;
}

/** Reads a string argument. */
inline bool ArgString(const Napi::CallbackInfo& info, size_t i, std::string* out) {
  if (info.Length() <= i || !info[i].IsString()) return false;
  *out = info[i].As<Napi::String>().Utf8Value();
  return true;
}

/** Reads a Buffer / Uint8Array argument without copying. */
inline bool ArgBytes(const Napi::CallbackInfo& info, size_t i, const uint8_t** data, size_t* len) {
  if (info.Length() <= i || !info[i].IsTypedArray()) return false;
  Napi::TypedArray ta = info[i].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_uint8_array) return false;
  Napi::Uint8Array u8 = info[i].As<Napi::Uint8Array>();
  *data = u8.Data();
  *len = u8.ByteLength();
  return true;
}

/** Scratch buffer for receives, grown on demand; the addon runs on the loop thread only. */
uint8_t* Scratch(size_t len);

void InitFdWatcher(Napi::Env env, Napi::Object exports);
void InitSeqpacket(Napi::Env env, Napi::Object exports);
void InitTap(Napi::Env env, Napi::Object exports);
void InitNetnsId(Napi::Env env, Napi::Object exports);
void InitPacketSocket(Napi::Env env, Napi::Object exports);

}  // namespace ovsdpemu
