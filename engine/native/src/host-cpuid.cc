#include "host-cpuid.h"

#include <cpuid.h>

namespace hv {

Napi::Value HostCpuid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber())
    throw Napi::TypeError::New(env, "cpuid(leaf: number, subleaf: number)");
  unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
  __cpuid_count(info[0].As<Napi::Number>().Uint32Value(), info[1].As<Napi::Number>().Uint32Value(), eax, ebx, ecx, edx);
  Napi::Array out = Napi::Array::New(env, 4);
  out.Set(0u, Napi::Number::New(env, eax));
  out.Set(1u, Napi::Number::New(env, ebx));
  out.Set(2u, Napi::Number::New(env, ecx));
  out.Set(3u, Napi::Number::New(env, edx));
  return out;
}

}  // namespace hv
