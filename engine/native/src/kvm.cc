#include "kvm.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "kvm-errno.h"
#include "kvm-layout.h"

namespace hv {
namespace {

constexpr const char* kDefaultDevice = "/dev/kvm";
// Marks JS objects made by this class, so VmFd can accept only a real Kvm.
constexpr napi_type_tag kKvmTag = {0x68765f6b766d0001ULL, 0x9d3c5b1e2a7f4c01ULL};
// First KVM_GET_SUPPORTED_CPUID buffer size (the kernel's KVM_MAX_CPUID_ENTRIES has been 80 and 256).
constexpr uint32_t kFirstCpuidEntries = 256;
// Give up growing the CPUID buffer beyond this (E2BIG means "more entries than you gave room for").
constexpr uint32_t kMaxCpuidEntries = 4096;

}  // namespace

Napi::Function Kvm::Init(Napi::Env env) {
  return DefineClass(env, "Kvm",
                     {
                         InstanceMethod<&Kvm::ApiVersion>("apiVersion"),
                         InstanceMethod<&Kvm::CheckExtension>("checkExtension"),
                         InstanceMethod<&Kvm::VcpuMmapSize>("vcpuMmapSize"),
                         InstanceMethod<&Kvm::SupportedCpuid>("supportedCpuid"),
                         InstanceMethod<&Kvm::MsrIndexList>("msrIndexList"),
                         InstanceMethod<&Kvm::Close>("close"),
                     });
}

Napi::Object Kvm::Constants(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
#define HV_EXPORT_CONSTANT(name) o.Set(#name, Napi::Number::New(env, name))
  HV_EXPORT_CONSTANT(KVM_API_VERSION);
  HV_EXPORT_CONSTANT(KVM_CAP_IRQCHIP);
  HV_EXPORT_CONSTANT(KVM_CAP_USER_MEMORY);
  HV_EXPORT_CONSTANT(KVM_CAP_SET_TSS_ADDR);
  HV_EXPORT_CONSTANT(KVM_CAP_EXT_CPUID);
  HV_EXPORT_CONSTANT(KVM_CAP_IOEVENTFD);
  HV_EXPORT_CONSTANT(KVM_CAP_IRQFD);
  HV_EXPORT_CONSTANT(KVM_CAP_PIT2);
  HV_EXPORT_CONSTANT(KVM_CAP_IRQ_ROUTING);
  HV_EXPORT_CONSTANT(KVM_CAP_SET_IDENTITY_MAP_ADDR);
  HV_EXPORT_CONSTANT(KVM_CAP_IMMEDIATE_EXIT);
  HV_EXPORT_CONSTANT(KVM_CAP_NR_VCPUS);
  HV_EXPORT_CONSTANT(KVM_CAP_MAX_VCPUS);
  HV_EXPORT_CONSTANT(KVM_CAP_TSC_DEADLINE_TIMER);
#undef HV_EXPORT_CONSTANT
  return o;
}

Kvm* Kvm::FromValue(Napi::Env env, Napi::Value value) {
  if (!value.IsObject() || !value.As<Napi::Object>().CheckTypeTag(&kKvmTag))
    throw Napi::TypeError::New(env, "expected a Kvm");
  return Unwrap(value.As<Napi::Object>());
}

Kvm::Kvm(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Kvm>(info) {
  std::string path = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : kDefaultDevice;
  fd_ = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) throw ErrnoError(info.Env(), "open " + path, errno);
  info.This().As<Napi::Object>().TypeTag(&kKvmTag);
}

Kvm::~Kvm() {
  if (fd_ >= 0) ::close(fd_);
}

int Kvm::Ioctl(Napi::Env env, unsigned long request, unsigned long arg, const char* what) {
  if (fd_ < 0) throw Napi::Error::New(env, std::string(what) + ": Kvm is closed");
  int r = ioctl(fd_, request, arg);
  if (r < 0) throw ErrnoError(env, what, errno);
  return r;
}

Napi::Value Kvm::ApiVersion(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), Ioctl(info.Env(), KVM_GET_API_VERSION, 0, "KVM_GET_API_VERSION"));
}

Napi::Value Kvm::CheckExtension(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "checkExtension(cap: number)");
  unsigned long cap = info[0].As<Napi::Number>().Uint32Value();
  return Napi::Number::New(info.Env(), Ioctl(info.Env(), KVM_CHECK_EXTENSION, cap, "KVM_CHECK_EXTENSION"));
}

Napi::Value Kvm::VcpuMmapSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), Ioctl(info.Env(), KVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE"));
}

// KVM_GET_SUPPORTED_CPUID: the kvm_cpuid_entry2 array (nent * 40 bytes), copied out; the header stays native.
Napi::Value Kvm::SupportedCpuid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  for (uint32_t room = kFirstCpuidEntries; room <= kMaxCpuidEntries; room *= 2) {
    KernelArray cpuid(kKvmCpuid2Entries, room, room * sizeof(kvm_cpuid_entry2));
    if (fd_ < 0) throw Napi::Error::New(env, "KVM_GET_SUPPORTED_CPUID: Kvm is closed");
    if (ioctl(fd_, KVM_GET_SUPPORTED_CPUID, cpuid.header()) < 0) {
      if (errno == E2BIG) continue;
      throw ErrnoError(env, "KVM_GET_SUPPORTED_CPUID", errno);
    }
    size_t bytes = static_cast<size_t>(std::min(cpuid.count(), room)) * sizeof(kvm_cpuid_entry2);
    Napi::Uint8Array out = Napi::Uint8Array::New(env, bytes);
    memcpy(out.Data(), cpuid.array(), bytes);
    return out;
  }
  throw Napi::Error::New(env, "KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
}

// KVM_GET_MSR_INDEX_LIST: the MSRs KVM can save and restore (a Uint32Array of indices).
Napi::Value Kvm::MsrIndexList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0) throw Napi::Error::New(env, "KVM_GET_MSR_INDEX_LIST: Kvm is closed");
  // The first call, with room for none, fails with E2BIG and says how many there are.
  KernelArray probe(kKvmMsrListIndices, 0, 0);
  if (ioctl(fd_, KVM_GET_MSR_INDEX_LIST, probe.header()) < 0 && errno != E2BIG)
    throw ErrnoError(env, "KVM_GET_MSR_INDEX_LIST", errno);
  uint32_t room = probe.count();
  KernelArray list(kKvmMsrListIndices, room, room * sizeof(uint32_t));
  if (ioctl(fd_, KVM_GET_MSR_INDEX_LIST, list.header()) < 0) throw ErrnoError(env, "KVM_GET_MSR_INDEX_LIST", errno);
  uint32_t count = std::min(list.count(), room);
  Napi::Uint32Array out = Napi::Uint32Array::New(env, count);
  memcpy(out.Data(), list.array(), count * sizeof(uint32_t));
  return out;
}

void Kvm::Close(const Napi::CallbackInfo&) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace hv
