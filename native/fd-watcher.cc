// FdWatcher: a libuv poll handle on a file descriptor, reporting readiness to a JS callback.
// The watcher never reads or writes the fd itself; the TypeScript side does that synchronously
// from the callback, so all policy (how much to read, what EAGAIN means) stays in TS.
#include <uv.h>

#include <memory>

#include "common.h"

namespace ovsdpemu {
namespace {

class FdWatcher : public Napi::ObjectWrap<FdWatcher> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FdWatcher",
                       {InstanceMethod<&FdWatcher::Start>("start"),
                        InstanceMethod<&FdWatcher::Stop>("stop"),
                        InstanceMethod<&FdWatcher::Close>("close"),
                        InstanceMethod<&FdWatcher::DoRef>("ref"),
                        InstanceMethod<&FdWatcher::DoUnref>("unref")});
  }

  // new FdWatcher(fd, callback(events, status))
  explicit FdWatcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FdWatcher>(info) {
    Napi::Env env = info.Env();
    int fd;
    if (!ArgFd(info, 0, &fd) || info.Length() < 2 || !info[1].IsFunction()) {
      TypeError(env, "FdWatcher(fd: number, callback: Function)");
      return;
    }
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      Napi::Error::New(env, "FdWatcher: no libuv loop").ThrowAsJavaScriptException();
      return;
    }
    auto* h = new Handle();
    int rc = uv_poll_init(loop, &h->poll, fd);
    if (rc != 0) {
      delete h;
      Napi::Error::New(env, std::string("FdWatcher: uv_poll_init: ") + uv_strerror(rc))
          .ThrowAsJavaScriptException();
      return;
    }
    h->owner = this;
    h->poll.data = h;
    handle_ = h;
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    context_ = std::make_unique<Napi::AsyncContext>(env, "ovsdpemu:FdWatcher");
  }

  ~FdWatcher() override { Release(); }

 private:
  // The uv handle outlives this object until libuv's close callback: libuv still owns the
  // memory after uv_close(), so it is a separate allocation.
  struct Handle {
    uv_poll_t poll;
    FdWatcher* owner = nullptr;
  };

  static void OnPoll(uv_poll_t* poll, int status, int events) {
    auto* h = static_cast<Handle*>(poll->data);
    FdWatcher* self = h->owner;
    if (self == nullptr) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    self->callback_.MakeCallback(self->Value(),
                                 {Napi::Number::New(env, events), Napi::Number::New(env, status)},
                                 *self->context_);
    // An exception from the callback has nowhere to go from a libuv callback: hand it to
    // Node's uncaught-exception machinery, as an EventEmitter listener would.
    if (env.IsExceptionPending()) {
      Napi::Error err = env.GetAndClearPendingException();
      napi_fatal_exception(env, err.Value());
    }
  }

  // start(events) -> 0 | -errno. events: 1 readable, 2 writable, 4 disconnect (UV_*).
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) return TypeError(env, "start(events: number)");
    if (handle_ == nullptr) return NegErrno(env, EBADF);
    int events = info[0].As<Napi::Number>().Int32Value() & (UV_READABLE | UV_WRITABLE | UV_DISCONNECT);
    int rc = uv_poll_start(&handle_->poll, events, OnPoll);
    if (rc == 0 && !pinned_) {
      // An active watcher keeps its JS object (and callback) alive, like Node's own handles.
      Ref();
      pinned_ = true;
    }
    return Napi::Number::New(env, rc);
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) uv_poll_stop(&handle_->poll);
    Unpin();
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Release();
    Unpin();
    return info.Env().Undefined();
  }

  Napi::Value DoRef(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
    return info.Env().Undefined();
  }

  Napi::Value DoUnref(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
    return info.Env().Undefined();
  }

  void Unpin() {
    if (pinned_) {
      pinned_ = false;
      Unref();
    }
  }

  // Stops polling synchronously (epoll_ctl DEL happens inside uv_close), so the caller may
  // close the fd right after close() returns.
  void Release() {
    if (handle_ == nullptr) return;
    handle_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_->poll),
             [](uv_handle_t* p) { delete static_cast<Handle*>(p->data); });
    handle_ = nullptr;
  }

  Handle* handle_ = nullptr;
  Napi::FunctionReference callback_;
  std::unique_ptr<Napi::AsyncContext> context_;
  bool pinned_ = false;
};

}  // namespace

void InitFdWatcher(Napi::Env env, Napi::Object exports) {
  exports.Set("FdWatcher", FdWatcher::Define(env));
  exports.Set("UV_READABLE", Napi::Number::New(env, UV_READABLE));
  exports.Set("UV_WRITABLE", Napi::Number::New(env, UV_WRITABLE));
  exports.Set("UV_DISCONNECT", Napi::Number::New(env, UV_DISCONNECT));
}

}  // namespace ovsdpemu
