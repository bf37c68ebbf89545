// EventFd: a Linux eventfd, the doorbell KVM rings for an ioeventfd (queue notify) and listens on for an irqfd
// (interrupt): the fd number goes to VmFd.ioeventfd/irqfd, JS reads or writes the counter, or watches it:
// watch(onSignal) calls onSignal(count) on the loop thread each time the counter became non-zero (reading it back
// to zero), so a queue notify KVM took in the kernel reaches the device without a vCPU exit.
#pragma once
#include <napi.h>

#include <memory>

#include "fd-poll.h"

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
  void Watch(const Napi::CallbackInfo& info);
  void OnReadable(int status);

  int fd_ = -1;
  std::unique_ptr<FdPoll> poll_;
  Napi::FunctionReference onSignal_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

}  // namespace hv
