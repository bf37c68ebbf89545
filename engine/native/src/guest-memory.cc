#include "guest-memory.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "constants.h"
#include "instance-data.h"

namespace hv {

HostMapping::HostMapping(size_t size) : sizeBytes(size) {
  // One extra guard's worth of slack lets RAM start on a 2 MiB boundary wherever the kernel puts the reservation.
  totalBytes = size + 3 * kGuardBytes;
  // Reserve everything PROT_NONE (address space only: MAP_NORESERVE, no commit), then open the middle.
  void* p = mmap(nullptr, totalBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::runtime_error(std::string("mmap guest memory: ") + strerror(errno));
  base = p;
  uintptr_t first = reinterpret_cast<uintptr_t>(p) + kGuardBytes;
  ram = reinterpret_cast<uint8_t*>((first + kGuardBytes - 1) & ~(kGuardBytes - 1));
  if (mprotect(ram, size, PROT_READ | PROT_WRITE) != 0) {
    int err = errno;
    munmap(base, totalBytes);
    throw std::runtime_error(std::string("mprotect guest memory: ") + strerror(err));
  }
}

HostMapping::~HostMapping() { munmap(base, totalBytes); }

Napi::Function GuestMemory::Init(Napi::Env env) {
  return DefineClass(env, "GuestMemory",
                     {
                         InstanceAccessor<&GuestMemory::Buffer>("buffer"),
                         InstanceAccessor<&GuestMemory::ByteLength>("byteLength"),
                         InstanceMethod<&GuestMemory::Discard>("discard"),
                     });
}

bool GuestMemory::IsInstance(Napi::Env env, Napi::Value value) {
  return value.IsObject() && value.As<Napi::Object>().InstanceOf(instanceData(env)->guestMemory.Value());
}

GuestMemory::GuestMemory(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GuestMemory>(info) {
  Napi::Env env = info.Env();
  double size = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0;
  // TypeScript validates; this only keeps a bad call from reaching mmap.
  if (!(size > 0) || size > 9007199254740991.0 || size != static_cast<double>(static_cast<uint64_t>(size)) ||
      static_cast<uint64_t>(size) % kPageSize != 0)
    throw Napi::RangeError::New(env, "GuestMemory size must be a positive multiple of 4096");
  try {
    mapping_ = std::make_shared<HostMapping>(static_cast<size_t>(size));
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  auto* hint = new std::shared_ptr<HostMapping>(mapping_);
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
      env, mapping_->ram, mapping_->sizeBytes,
      [](Napi::Env, void*, std::shared_ptr<HostMapping>* share) { delete share; }, hint);
  buffer_ = Napi::Persistent(buffer);
}

Napi::Value GuestMemory::Buffer(const Napi::CallbackInfo&) { return buffer_.Value(); }

Napi::Value GuestMemory::ByteLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(mapping_->sizeBytes));
}

// A whole number of pages in [0, limit], as a double from JS.
static bool IsPageMultipleUpTo(double value, size_t limit) {
  return value >= 0 && value <= static_cast<double>(limit) && value == static_cast<double>(static_cast<uint64_t>(value)) &&
         static_cast<uint64_t>(value) % kPageSize == 0;
}

Napi::Value GuestMemory::Discard(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t size = mapping_->sizeBytes;
  double offset = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  double length = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  // Only whole pages of this mapping's RAM: never a guard page, never anything else of the process.
  if (!IsPageMultipleUpTo(offset, size) || !IsPageMultipleUpTo(length, size) ||
      static_cast<uint64_t>(offset) + static_cast<uint64_t>(length) > size)
    throw Napi::RangeError::New(env, "discard needs a page-aligned range inside guest RAM");
  if (length == 0) return env.Undefined();
  if (madvise(mapping_->ram + static_cast<size_t>(offset), static_cast<size_t>(length), MADV_DONTNEED) != 0)
    throw Napi::Error::New(env, std::string("madvise(MADV_DONTNEED): ") + strerror(errno));
  return env.Undefined();
}

}  // namespace hv
