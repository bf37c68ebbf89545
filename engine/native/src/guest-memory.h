// GuestMemory: one anonymous mmap with PROT_NONE guard regions on each side, shared with JS as an external ArrayBuffer.
#pragma once
#include <napi.h>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace hv {

// At least this much PROT_NONE on each side of guest RAM, and RAM starts on a multiple of it: 2 MiB keeps guest
// 2 MiB pages congruent with host ones (transparent huge pages, KVM large EPT mappings) and turns any native
// overrun of up to 2 MiB into SIGSEGV. It costs address space only.
constexpr size_t kGuardBytes = 2u << 20;

// The mapping itself; shared by the GuestMemory object, its ArrayBuffer and any CPU that maps it, unmapped by the last.
struct HostMapping {
  void* base = nullptr;      // start of the whole reservation, guards included
  size_t totalBytes = 0;     // size + guards + alignment slack (all PROT_NONE)
  uint8_t* ram = nullptr;    // first RW byte, kGuardBytes-aligned
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
