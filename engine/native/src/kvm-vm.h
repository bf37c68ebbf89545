// VmFd: one KVM virtual machine (the fd KVM_CREATE_VM returns): memory slots, in-kernel irqchip and PIT, the
// boot-time addresses VMX needs, ioeventfds, irqfds, GSI routing and legacy IRQ lines. Arguments arrive validated
// by TypeScript (engine/src/accel/kvm/); structures the kernel reads are built there as bytes.
#pragma once
#include <napi.h>

#include <cstdint>
#include <map>
#include <memory>

#include "guest-memory.h"

namespace hv {

class VmFd : public Napi::ObjectWrap<VmFd> {
 public:
  static Napi::Function Init(Napi::Env env);
  static VmFd* FromValue(Napi::Env env, Napi::Value value);  // type-tag checked; throws TypeError otherwise
  explicit VmFd(const Napi::CallbackInfo& info);             // new VmFd(kvm): KVM_CREATE_VM
  ~VmFd() override;
  int fd() const { return fd_; }
  int vcpuMmapSize() const { return vcpuMmapSize_; }
  int Ioctl(Napi::Env env, unsigned long request, const void* arg, const char* what);
  // Each slot's host pages, kept alive while any fd of this VM is open: a vCPU keeps its own share, so closing the
  // VmFd first never lets the guest see host memory that was unmapped and reused.
  using Slots = std::map<uint32_t, std::shared_ptr<HostMapping>>;
  std::shared_ptr<Slots> slots() const { return slots_; }

 private:
  void SetUserMemoryRegion(const Napi::CallbackInfo& info);
  void CreateIrqchip(const Napi::CallbackInfo& info);
  void CreatePit2(const Napi::CallbackInfo& info);
  void SetTssAddr(const Napi::CallbackInfo& info);
  void SetIdentityMapAddr(const Napi::CallbackInfo& info);
  void Ioeventfd(const Napi::CallbackInfo& info);
  void Irqfd(const Napi::CallbackInfo& info);
  void SetGsiRouting(const Napi::CallbackInfo& info);
  void IrqLine(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  int fd_ = -1;
  int vcpuMmapSize_ = 0;
  std::shared_ptr<Slots> slots_ = std::make_shared<Slots>();
};

}  // namespace hv
