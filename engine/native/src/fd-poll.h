// FdPoll: calls onReadable(status) on the loop thread whenever fd is readable (libuv's level-triggered poll), so the
// addon never blocks the loop thread on a read. Unref'd: a watched fd alone does not keep the process alive.
// Destroying it stops the poll at once; libuv frees the handle after its close callback.
#pragma once
#include <napi.h>
#include <uv.h>

#include <functional>
#include <string>
#include <utility>

namespace hv {

class FdPoll {
 public:
  using Callback = std::function<void(int status)>;

  FdPoll(Napi::Env env, int fd, Callback onReadable) : callback_(std::move(onReadable)) {
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    handle_ = new uv_poll_t;
    int err = uv_poll_init(loop, handle_, fd);
    if (err != 0) {
      delete handle_;
      handle_ = nullptr;
      throw Napi::Error::New(env, std::string("uv_poll_init: ") + uv_strerror(err));
    }
    handle_->data = this;
    uv_poll_start(handle_, UV_READABLE, &FdPoll::OnReadable);
    uv_unref(reinterpret_cast<uv_handle_t*>(handle_));
  }

  ~FdPoll() {
    if (handle_ == nullptr) return;
    handle_->data = nullptr;
    uv_poll_stop(handle_);
    uv_close(reinterpret_cast<uv_handle_t*>(handle_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  }

  FdPoll(const FdPoll&) = delete;
  FdPoll& operator=(const FdPoll&) = delete;

 private:
  static void OnReadable(uv_poll_t* handle, int status, int) {
    auto* self = static_cast<FdPoll*>(handle->data);
    if (self == nullptr) return;
    Callback callback = self->callback_;  // a copy: the callback may destroy this FdPoll (a close from JS)
    callback(status);
  }

  uv_poll_t* handle_ = nullptr;
  Callback callback_;
};

}  // namespace hv
