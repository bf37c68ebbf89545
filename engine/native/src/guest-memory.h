// GuestMemory: one anonymous mmap with a PROT_NONE guard page on each side, shared with JS as an external ArrayBuffer.
#pragma once
#include <napi.h>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace hv {

// The mapping itself; shared by the GuestMemory object, its ArrayBuffer and any CPU that maps it, unmapped by the last.
struct HostMapping {
  void* base = nullptr;      // start of the whole mapping, guard pages included
  size_t totalBytes = 0;     // size + both guard pages
  uint8_t* ram = nullptr;    // first RW byte
  size_t sizeBytes = 0;      // RW bytes
  HostMapping(size_t size);  // throws std::runtime_error with errno text
  ~HostMapping();
  HostMapping(const HostMapping&) = delete;
  HostMapping& operator=(const HostMapping&) = delete;
};

class GuestMemory : public Napi::ObjectWrap<GuestMemory> {
 public:
  static Napi::Function Init(Napi::Env env);
  static bool IsInstance(Napi::Env env, Napi::Value value);
  explicit GuestMemory(const Napi::CallbackInfo& info);
  const std::shared_ptr<HostMapping>& mapping() const { return mapping_; }

 private:
  Napi::Value Buffer(const Napi::CallbackInfo& info);
  Napi::Value ByteLength(const Napi::CallbackInfo& info);
  // discard(offset, length): returns whole pages to the host (madvise MADV_DONTNEED); they read as zero afterwards.
  Napi::Value Discard(const Napi::CallbackInfo& info);

  std::shared_ptr<HostMapping> mapping_;
  Napi::Reference<Napi::ArrayBuffer> buffer_;  // created once; its finalizer holds its own share of the mapping
};

}  // namespace hv
