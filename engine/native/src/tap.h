// Tap: one Linux tap interface opened through /dev/net/tun (TUNSETIFF, IFF_TAP | IFF_NO_PI), non-blocking.
// new Tap(name, onFrame): attaches to an existing tap (never creates one); onFrame(null, frame) per received
// Ethernet frame, onFrame(error) once if reading fails for good. write(frame) → 0 or the errno (frame dropped).
#pragma once
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "fd-poll.h"

namespace hv {

class Tap : public Napi::ObjectWrap<Tap> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Tap(const Napi::CallbackInfo& info);
  ~Tap() override;

 private:
  Napi::Value Name(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);
  void OnReadable(int status);
  void ReadFrames();
  void Deliver(napi_value error, napi_value frame);
  void Shutdown();

  int fd_ = -1;
  std::string name_;
  std::vector<uint8_t> frame_;  // one frame read at a time, copied out at once
  std::unique_ptr<FdPoll> poll_;
  Napi::FunctionReference onFrame_;
  Napi::AsyncContext* context_ = nullptr;
};

}  // namespace hv
