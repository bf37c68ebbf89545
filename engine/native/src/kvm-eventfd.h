// EventFd: a Linux eventfd, the doorbell KVM rings for an ioeventfd (queue notify) and listens on for an irqfd
// (interrupt): the fd number goes to VmFd.ioeventfd/irqfd, JS reads or writes the counter.
#pragma once
#include <napi.h>

namespace hv {

class EventFd : public Napi::ObjectWrap<EventFd> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit EventFd(const Napi::CallbackInfo& info);  // new EventFd(): non-blocking, close-on-exec, counter 0
  ~EventFd() override;

 private:
  Napi::Value Fd(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  void Write(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  int fd_ = -1;
};

}  // namespace hv
