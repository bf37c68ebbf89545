// VcpuFd: one KVM vCPU (the fd KVM_CREATE_VCPU returns) and its mmap'd kvm_run, also shared with JS as an
// ArrayBuffer. KVM_RUN itself runs on the vCPU's own thread (kvm-vcpu-thread.h). Registers, CPUID and MSRs cross
// as kernel-layout bytes built and validated in TypeScript; set them only while that thread is stopped.
#pragma once
#include <napi.h>
#include <linux/kvm.h>

#include <cstdint>
#include <memory>

#include "kvm-vm.h"

namespace hv {

// The signal that ends KVM_RUN (the first real-time signal glibc leaves to applications), and its no-op handler.
int KickSignal();
void InstallKickHandler(Napi::Env env);

// The kvm_run page(s): unmapped by the last of the VcpuFd and the ArrayBuffer JS holds.
struct RunMapping {
  void* base = nullptr;
  size_t size = 0;
  RunMapping(int fd, size_t size);  // throws std::runtime_error with errno text
  ~RunMapping();
  RunMapping(const RunMapping&) = delete;
  RunMapping& operator=(const RunMapping&) = delete;
};

class VcpuFd : public Napi::ObjectWrap<VcpuFd> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit VcpuFd(const Napi::CallbackInfo& info);  // new VcpuFd(vm, id): KVM_CREATE_VCPU
  ~VcpuFd() override;
  static VcpuFd* FromValue(Napi::Env env, Napi::Value value);  // type-tag checked; throws TypeError otherwise
  int fd() const { return fd_; }
  const std::shared_ptr<RunMapping>& runMapping() const { return run_; }

 private:
  Napi::Value RunBuffer(const Napi::CallbackInfo& info);
  void GetRegs(const Napi::CallbackInfo& info);
  void SetRegs(const Napi::CallbackInfo& info);
  void GetSregs(const Napi::CallbackInfo& info);
  void SetSregs(const Napi::CallbackInfo& info);
  void SetCpuid2(const Napi::CallbackInfo& info);
  Napi::Value SetMsrs(const Napi::CallbackInfo& info);
  Napi::Value GetMsrs(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);
  int Ioctl(Napi::Env env, unsigned long request, void* arg, const char* what);

  int fd_ = -1;
  std::shared_ptr<RunMapping> run_;
  std::shared_ptr<VmFd::Slots> slots_;  // the VM's RAM stays mapped while this vCPU can still run
  Napi::Reference<Napi::ArrayBuffer> runBuffer_;
};

}  // namespace hv
