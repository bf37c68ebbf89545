// Per-environment constructors, so instanceof checks work with worker threads too.
#pragma once
#include <napi.h>

namespace hv {

struct InstanceData {
  Napi::FunctionReference guestMemory;
};

inline InstanceData* instanceData(Napi::Env env) { return env.GetInstanceData<InstanceData>(); }

}  // namespace hv
