// cpuid(leaf, subleaf): the host CPU's identification, for the capabilities report.
#pragma once
#include <napi.h>

namespace hv {
Napi::Value HostCpuid(const Napi::CallbackInfo& info);
}
