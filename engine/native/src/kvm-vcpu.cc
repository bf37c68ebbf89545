#include "kvm-vcpu.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "kvm-errno.h"
#include "kvm-layout.h"

namespace hv {
namespace {

// Most CPUID entries or MSRs accepted in one call (the kernel's own limits are lower still).
constexpr size_t kMaxArrayEntries = 4096;

// Marks JS objects made by this class, so VcpuThread can accept only a real VcpuFd.
constexpr napi_type_tag kVcpuFdTag = {0x68765f6b766d0003ULL, 0x9d3c5b1e2a7f4c03ULL};

// The signal that ends KVM_RUN: the first real-time signal glibc leaves to applications.
}  // namespace

int KickSignal() { return SIGRTMIN; }

void InstallKickHandler(Napi::Env env) {
  struct sigaction action {};
  action.sa_handler = [](int) {};  // only interrupts KVM_RUN; the default action would end the process
  sigemptyset(&action.sa_mask);    // no SA_RESTART: KVM_RUN must fail with EINTR
  if (sigaction(KickSignal(), &action, nullptr) != 0) throw ErrnoError(env, "sigaction kick signal", errno);
}

VcpuFd* VcpuFd::FromValue(Napi::Env env, Napi::Value value) {
  if (!value.IsObject() || !value.As<Napi::Object>().CheckTypeTag(&kVcpuFdTag))
    throw Napi::TypeError::New(env, "expected a VcpuFd");
  return Unwrap(value.As<Napi::Object>());
}

RunMapping::RunMapping(int fd, size_t bytes) : size(bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) throw std::runtime_error(std::string("mmap kvm_run: ") + strerror(errno));
  base = p;
}

RunMapping::~RunMapping() { munmap(base, size); }

Napi::Function VcpuFd::Init(Napi::Env env) {
  return DefineClass(env, "VcpuFd",
                     {
                         InstanceAccessor<&VcpuFd::RunBuffer>("runBuffer"),
                         InstanceMethod<&VcpuFd::GetRegs>("getRegs"),
                         InstanceMethod<&VcpuFd::SetRegs>("setRegs"),
                         InstanceMethod<&VcpuFd::GetSregs>("getSregs"),
                         InstanceMethod<&VcpuFd::SetSregs>("setSregs"),
                         InstanceMethod<&VcpuFd::SetCpuid2>("setCpuid2"),
                         InstanceMethod<&VcpuFd::SetMsrs>("setMsrs"),
                         InstanceMethod<&VcpuFd::GetMsrs>("getMsrs"),
                         InstanceMethod<&VcpuFd::Close>("close"),
                     });
}

VcpuFd::VcpuFd(const Napi::CallbackInfo& info) : Napi::ObjectWrap<VcpuFd>(info) {
  Napi::Env env = info.Env();
  VmFd* vm = VmFd::FromValue(env, info.Length() > 0 ? info[0] : env.Undefined());
  uint32_t id = U32Arg(info, 1, "vcpu id");
  fd_ = vm->Ioctl(env, KVM_CREATE_VCPU, reinterpret_cast<void*>(static_cast<uintptr_t>(id)), "KVM_CREATE_VCPU");
  slots_ = vm->slots();
  try {
    run_ = std::make_shared<RunMapping>(fd_, static_cast<size_t>(vm->vcpuMmapSize()));
  } catch (const std::exception& e) {
    ::close(fd_);
    fd_ = -1;
    throw Napi::Error::New(env, e.what());
  }
  auto* hint = new std::shared_ptr<RunMapping>(run_);
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
      env, run_->base, run_->size, [](Napi::Env, void*, std::shared_ptr<RunMapping>* share) { delete share; }, hint);
  runBuffer_ = Napi::Persistent(buffer);
  info.This().As<Napi::Object>().TypeTag(&kVcpuFdTag);
}

VcpuFd::~VcpuFd() {
  if (fd_ >= 0) ::close(fd_);
}

int VcpuFd::Ioctl(Napi::Env env, unsigned long request, void* arg, const char* what) {
  if (fd_ < 0) throw Napi::Error::New(env, std::string(what) + ": VcpuFd is closed");
  int r = ioctl(fd_, request, arg);
  if (r < 0) throw ErrnoError(env, what, errno);
  return r;
}

Napi::Value VcpuFd::RunBuffer(const Napi::CallbackInfo&) { return runBuffer_.Value(); }

void VcpuFd::GetRegs(const Napi::CallbackInfo& info) {
  Ioctl(info.Env(), KVM_GET_REGS, BytesArg(info, 0, sizeof(kvm_regs), "regs"), "KVM_GET_REGS");
}

void VcpuFd::SetRegs(const Napi::CallbackInfo& info) {
  kvm_regs regs;
  memcpy(&regs, BytesArg(info, 0, sizeof(kvm_regs), "regs"), sizeof regs);
  Ioctl(info.Env(), KVM_SET_REGS, &regs, "KVM_SET_REGS");
}

void VcpuFd::GetSregs(const Napi::CallbackInfo& info) {
  Ioctl(info.Env(), KVM_GET_SREGS, BytesArg(info, 0, sizeof(kvm_sregs), "sregs"), "KVM_GET_SREGS");
}

void VcpuFd::SetSregs(const Napi::CallbackInfo& info) {
  kvm_sregs sregs;
  memcpy(&sregs, BytesArg(info, 0, sizeof(kvm_sregs), "sregs"), sizeof sregs);
  Ioctl(info.Env(), KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
}

// setCpuid2(entries): kvm_cpuid_entry2 bytes (40 each); the kvm_cpuid2 header is added here.
void VcpuFd::SetCpuid2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = 0;
  const uint8_t* bytes = BytesArg(info, 0, 0, "entries", &length);
  if (length % sizeof(kvm_cpuid_entry2) != 0 || length / sizeof(kvm_cpuid_entry2) > kMaxArrayEntries)
    throw Napi::RangeError::New(env, "entries must be at most 4096 whole 40-byte kvm_cpuid_entry2");
  KernelArray cpuid(kKvmCpuid2Entries, static_cast<uint32_t>(length / sizeof(kvm_cpuid_entry2)), length);
  memcpy(cpuid.array(), bytes, length);
  Ioctl(env, KVM_SET_CPUID2, cpuid.header(), "KVM_SET_CPUID2");
}

// setMsrs(entries): kvm_msr_entry bytes (16 each); returns how many KVM set (it stops at the first it rejects).
Napi::Value VcpuFd::SetMsrs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = 0;
  const uint8_t* bytes = BytesArg(info, 0, 0, "entries", &length);
  if (length % sizeof(kvm_msr_entry) != 0 || length / sizeof(kvm_msr_entry) > kMaxArrayEntries)
    throw Napi::RangeError::New(env, "entries must be at most 4096 whole 16-byte kvm_msr_entry");
  KernelArray msrs(kKvmMsrsEntries, static_cast<uint32_t>(length / sizeof(kvm_msr_entry)), length);
  memcpy(msrs.array(), bytes, length);
  return Napi::Number::New(env, Ioctl(env, KVM_SET_MSRS, msrs.header(), "KVM_SET_MSRS"));
}

// getMsrs(entries): fills the data of each kvm_msr_entry in place; returns how many KVM read.
Napi::Value VcpuFd::GetMsrs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = 0;
  uint8_t* bytes = BytesArg(info, 0, 0, "entries", &length);
  if (length % sizeof(kvm_msr_entry) != 0 || length / sizeof(kvm_msr_entry) > kMaxArrayEntries)
    throw Napi::RangeError::New(env, "entries must be at most 4096 whole 16-byte kvm_msr_entry");
  KernelArray msrs(kKvmMsrsEntries, static_cast<uint32_t>(length / sizeof(kvm_msr_entry)), length);
  memcpy(msrs.array(), bytes, length);
  int count = Ioctl(env, KVM_GET_MSRS, msrs.header(), "KVM_GET_MSRS");
  memcpy(bytes, msrs.array(), length);
  return Napi::Number::New(env, count);
}

void VcpuFd::Close(const Napi::CallbackInfo&) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  slots_.reset();
}

}  // namespace hv
