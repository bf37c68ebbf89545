#include "test-probes.h"

#include <cstdint>
#include <memory>

#include "guest-memory.h"

namespace hv {
namespace {

// Reads one byte past a 16-byte heap block: ASan reports heap-buffer-overflow (UBSan is kept out of the way).
__attribute__((no_sanitize_undefined)) Napi::Value HeapOverflowRead(const Napi::CallbackInfo& info) {
  constexpr size_t kBlockBytes = 16;
  auto block = std::make_unique<uint8_t[]>(kBlockBytes);
  volatile size_t past = kBlockBytes;  // volatile: the compiler may not see (and warn about) the overrun
  return Napi::Number::New(info.Env(), block[past]);
}

// Reads guest RAM at a byte offset with no bounds check: outside [0, byteLength) it lands in a guard region.
Napi::Value ReadGuestByte(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !GuestMemory::IsInstance(env, info[0]) || !info[1].IsNumber())
    throw Napi::TypeError::New(env, "readGuestByte(memory: GuestMemory, offset: number)");
  const auto& mapping = GuestMemory::Unwrap(info[0].As<Napi::Object>())->mapping();
  volatile uint8_t* at = mapping->ram + info[1].As<Napi::Number>().Int64Value();
  return Napi::Number::New(env, *at);
}

}  // namespace

Napi::Object TestProbes(Napi::Env env) {
  Napi::Object probes = Napi::Object::New(env);
  probes.Set("heapOverflowRead", Napi::Function::New(env, HeapOverflowRead, "heapOverflowRead"));
  probes.Set("readGuestByte", Napi::Function::New(env, ReadGuestByte, "readGuestByte"));
  return probes;
}

}  // namespace hv
