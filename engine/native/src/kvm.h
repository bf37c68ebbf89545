// Kvm: the /dev/kvm system fd: API version, extensions, supported CPUID, MSR index list, vCPU mmap size. VmFd's
// constructor takes a Kvm and issues KVM_CREATE_VM on it.
#pragma once
#include <napi.h>

namespace hv {

class Kvm : public Napi::ObjectWrap<Kvm> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Object Constants(Napi::Env env);  // KVM_* numbers from <linux/kvm.h>, never retyped in TypeScript
  static Kvm* FromValue(Napi::Env env, Napi::Value value);  // type-tag checked; throws TypeError otherwise
  explicit Kvm(const Napi::CallbackInfo& info);
  ~Kvm() override;
  int Ioctl(Napi::Env env, unsigned long request, unsigned long arg, const char* what);

 private:
  Napi::Value ApiVersion(const Napi::CallbackInfo& info);
  Napi::Value CheckExtension(const Napi::CallbackInfo& info);
  Napi::Value VcpuMmapSize(const Napi::CallbackInfo& info);
  Napi::Value SupportedCpuid(const Napi::CallbackInfo& info);
  Napi::Value MsrIndexList(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  int fd_ = -1;
};

}  // namespace hv
