// Errors from failed syscalls on KVM objects: an Error whose `code` is the errno name ('ENOENT', 'EINVAL', ...).
#pragma once
#include <napi.h>

#include <cstring>
#include <string>

namespace hv {

inline Napi::Error ErrnoError(Napi::Env env, const std::string& what, int err) {
  Napi::Error e = Napi::Error::New(env, what + ": " + strerror(err));
  const char* name = strerrorname_np(err);
  e.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
  e.Set("errno", Napi::Number::New(env, err));
  return e;
}

// Reads a non-negative safe integer argument (TypeScript validates; this only keeps bad calls out of ioctls).
inline uint64_t U64Arg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  Napi::Env env = info.Env();
  if (info.Length() > index && info[index].IsBigInt()) {
    bool lossless = false;
    uint64_t v = info[index].As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw Napi::RangeError::New(env, std::string(what) + " does not fit 64 bits");
    return v;
  }
  if (info.Length() <= index || !info[index].IsNumber()) throw Napi::TypeError::New(env, std::string(what) + " must be a number");
  double d = info[index].As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 9007199254740991.0 || d != static_cast<double>(static_cast<uint64_t>(d)))
    throw Napi::RangeError::New(env, std::string(what) + " must be a non-negative safe integer");
  return static_cast<uint64_t>(d);
}

inline uint32_t U32Arg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  uint64_t v = U64Arg(info, index, what);
  if (v > 0xffffffffull) throw Napi::RangeError::New(info.Env(), std::string(what) + " does not fit 32 bits");
  return static_cast<uint32_t>(v);
}

// A Uint8Array argument of exactly `size` bytes (size 0: any length), returned as its data pointer.
inline uint8_t* BytesArg(const Napi::CallbackInfo& info, size_t index, size_t size, const char* what, size_t* length = nullptr) {
  Napi::Env env = info.Env();
  if (info.Length() <= index || !info[index].IsTypedArray() ||
      info[index].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(env, std::string(what) + " must be a Uint8Array");
  Napi::Uint8Array bytes = info[index].As<Napi::Uint8Array>();
  if (size != 0 && bytes.ByteLength() != size)
    throw Napi::RangeError::New(env, std::string(what) + " must be " + std::to_string(size) + " bytes, got " +
                                         std::to_string(bytes.ByteLength()));
  if (length != nullptr) *length = bytes.ByteLength();
  return bytes.Data();
}

}  // namespace hv
