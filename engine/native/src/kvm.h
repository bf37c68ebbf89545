// Kvm: the /dev/kvm system fd, enough to probe the API version and extensions.
#pragma once
#include <napi.h>

namespace hv {

class Kvm : public Napi::ObjectWrap<Kvm> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Object Constants(Napi::Env env);  // KVM_* numbers from <linux/kvm.h>, never retyped in TypeScript
  explicit Kvm(const Napi::CallbackInfo& info);
  ~Kvm() override;

 private:
  Napi::Value ApiVersion(const Napi::CallbackInfo& info);
  Napi::Value CheckExtension(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);
  int Ioctl(Napi::Env env, unsigned long request, unsigned long arg, const char* what);

  int fd_ = -1;
};

}  // namespace hv
