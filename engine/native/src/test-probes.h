// Deliberate memory errors, compiled only into the sanitizer build (HV_TEST_PROBES): they prove the tests see
// what ASan and the guard pages report. Never in the production addon.
#pragma once
#include <napi.h>

namespace hv {

Napi::Object TestProbes(Napi::Env env);

}  // namespace hv
