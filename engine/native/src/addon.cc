// hv_native: the thin native layer. One wrapped class per object (GuestMemory, EmulatedCpu, Kvm, Tap); TypeScript
// (engine/src/native/addon.ts) validates arguments before calling in.
#include <napi.h>

#include "constants.h"
#include "emulated-cpu.h"
#include "guest-memory.h"
#include "host-cpuid.h"
#include "instance-data.h"
#include "kvm-eventfd.h"
#include "kvm-layout.h"
#include "kvm-vcpu-thread.h"
#include "kvm-vcpu.h"
#include "kvm-vm.h"
#include "kvm.h"
#include "tap.h"
#ifdef HV_TEST_PROBES
#include "test-probes.h"
#endif

namespace hv {
namespace {

Napi::Object EmulatedConstants(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
#define HV_EXPORT_CONSTANT(name) o.Set(#name, Napi::Number::New(env, name))
  HV_EXPORT_CONSTANT(kMailboxWords);
  HV_EXPORT_CONSTANT(kMailboxKind);
  HV_EXPORT_CONSTANT(kMailboxSize);
  HV_EXPORT_CONSTANT(kMailboxAddressLow);
  HV_EXPORT_CONSTANT(kMailboxAddressHigh);
  HV_EXPORT_CONSTANT(kMailboxDataLow);
  HV_EXPORT_CONSTANT(kMailboxDataHigh);
  HV_EXPORT_CONSTANT(kMailboxDetail);
  HV_EXPORT_CONSTANT(kExitIoIn);
  HV_EXPORT_CONSTANT(kExitIoOut);
  HV_EXPORT_CONSTANT(kExitMmioRead);
  HV_EXPORT_CONSTANT(kExitMmioWrite);
  HV_EXPORT_CONSTANT(kRunSliceEnd);
  HV_EXPORT_CONSTANT(kRunStopRequested);
  HV_EXPORT_CONSTANT(kRunHlt);
  HV_EXPORT_CONSTANT(kRunException);
  HV_EXPORT_CONSTANT(kRunInvalidInsn);
  HV_EXPORT_CONSTANT(kRunUnmapped);
  HV_EXPORT_CONSTANT(kRunError);
  HV_EXPORT_CONSTANT(kAccessRead);
  HV_EXPORT_CONSTANT(kAccessWrite);
  HV_EXPORT_CONSTANT(kAccessFetch);
#undef HV_EXPORT_CONSTANT
  return o;
}

Napi::Value UcStrerror(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "ucStrerror(code: number)");
  return Napi::String::New(info.Env(), uc_strerror(static_cast<uc_err>(info[0].As<Napi::Number>().Int32Value())));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new InstanceData();
  env.SetInstanceData(data);
  Napi::Function guestMemory = GuestMemory::Init(env);
  data->guestMemory = Napi::Persistent(guestMemory);
  exports.Set("GuestMemory", guestMemory);
  exports.Set("EmulatedCpu", EmulatedCpu::Init(env));
  exports.Set("Kvm", Kvm::Init(env));
  exports.Set("VmFd", VmFd::Init(env));
  exports.Set("VcpuFd", VcpuFd::Init(env));
  exports.Set("EventFd", EventFd::Init(env));
  exports.Set("VcpuThread", VcpuThread::Init(env));
  exports.Set("Tap", Tap::Init(env));
  exports.Set("vcpuThreadConstants", VcpuThread::Constants(env));
  exports.Set("cpuid", Napi::Function::New(env, HostCpuid, "cpuid"));
  exports.Set("ucStrerror", Napi::Function::New(env, UcStrerror, "ucStrerror"));
  exports.Set("emulatedConstants", EmulatedConstants(env));
  exports.Set("kvmConstants", Kvm::Constants(env));
  exports.Set("kvmLayout", KvmLayout(env));
  exports.Set("kvmAbi", KvmAbiNumbers(env));
  unsigned int major = 0, minor = 0;
  uc_version(&major, &minor);
  exports.Set("unicornVersion", Napi::String::New(env, std::to_string(major) + "." + std::to_string(minor)));
#ifdef HV_TEST_PROBES
  exports.Set("testProbes", TestProbes(env));  // sanitizer build only (engine/native/asan)
#endif
  return exports;
}

}  // namespace
}  // namespace hv

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return hv::Init(env, exports); }

NODE_API_MODULE(hv_native, InitModule)
