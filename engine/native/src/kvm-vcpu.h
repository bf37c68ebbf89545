// VcpuFd: one KVM vCPU (the fd KVM_CREATE_VCPU returns) and its mmap'd kvm_run, shared with JS as an ArrayBuffer
// that engine/src/accel/kvm/kvm-exit-decoder.ts reads. Registers, CPUID and MSRs cross as kernel-layout bytes
// built and validated in TypeScript.
//
// run(timeoutMicros) on the calling thread:
//   1. the kick signal is blocked on this thread except inside KVM_RUN (KVM_SET_SIGNAL_MASK), so it can only
//      interrupt the guest, never a Node syscall;
//   2. a per-vCPU POSIX timer aimed at this thread sends the kick signal after timeoutMicros, so a guest that
//      never exits (a spin loop, a halt with the in-kernel irqchip) still gives the thread back: KVM_RUN fails EINTR;
//   3. immediate_exit in kvm_run (set from JS by requestStop) makes the next KVM_RUN return EINTR at once;
//   4. the timer is disarmed and a kick that landed after the exit is drained, so it cannot end the next run early.
#pragma once
#include <napi.h>
#include <linux/kvm.h>
#include <sys/types.h>
#include <time.h>

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
  Napi::Value Run(const Napi::CallbackInfo& info);
  void GetRegs(const Napi::CallbackInfo& info);
  void SetRegs(const Napi::CallbackInfo& info);
  void GetSregs(const Napi::CallbackInfo& info);
  void SetSregs(const Napi::CallbackInfo& info);
  void SetCpuid2(const Napi::CallbackInfo& info);
  Napi::Value SetMsrs(const Napi::CallbackInfo& info);
  Napi::Value GetMsrs(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);
  int Ioctl(Napi::Env env, unsigned long request, void* arg, const char* what);
  void PrepareThread(Napi::Env env);  // steps 1-2 for the calling thread, once per thread

  int fd_ = -1;
  std::shared_ptr<RunMapping> run_;
  std::shared_ptr<VmFd::Slots> slots_;  // the VM's RAM stays mapped while this vCPU can still run
  Napi::Reference<Napi::ArrayBuffer> runBuffer_;
  timer_t timer_{};
  bool hasTimer_ = false;
  pid_t preparedThread_ = 0;
};

}  // namespace hv
