// The kernel ABI the TypeScript side reads and writes as bytes (engine/src/accel/kvm/kvm-abi.ts): every size and
// offset it relies on is pinned here with static_assert, so a header that disagrees fails the build, and exported
// (kvmLayout) so a test checks the TypeScript numbers against the compiler's.
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace hv {

// <linux/kvm.h> declares its trailing arrays with __DECLARE_FLEX_ARRAY, whose empty struct takes one byte in C++
// (none in C): seen from C++, `entries` sits 4 or 8 bytes past where the kernel reads it. So the kernel's offsets
// are spelled here and those structures are built as bytes, never through their C++ members.
constexpr size_t kKvmCpuid2Entries = 8;      // u32 nent, u32 padding, then kvm_cpuid_entry2[]
constexpr size_t kKvmMsrsEntries = 8;        // u32 nmsrs, u32 pad, then kvm_msr_entry[]
constexpr size_t kKvmMsrListIndices = 4;     // u32 nmsrs, then u32[]
constexpr size_t kKvmIrqRoutingEntries = 8;  // u32 nr, u32 flags, then kvm_irq_routing_entry[]
constexpr size_t kKvmSignalMaskSigset = 4;   // u32 len, then the sigset bytes

// An 8-byte aligned kernel structure: a u32 count at offset 0, then `bytes` of array at `arrayOffset`.
class KernelArray {
 public:
  KernelArray(size_t arrayOffset, uint32_t count, size_t bytes)
      : offset_(arrayOffset), storage_((arrayOffset + bytes + 7) / 8, 0) {
    std::memcpy(storage_.data(), &count, sizeof count);
  }
  void* header() { return storage_.data(); }
  uint8_t* array() { return reinterpret_cast<uint8_t*>(storage_.data()) + offset_; }
  uint32_t count() const {
    uint32_t n;
    std::memcpy(&n, storage_.data(), sizeof n);
    return n;
  }

 private:
  size_t offset_;
  std::vector<uint64_t> storage_;
};

Napi::Object KvmLayout(Napi::Env env);     // sizeof/offsetof of the structs below
Napi::Object KvmAbiNumbers(Napi::Env env); // KVM_EXIT_*, routing, ioeventfd/irqfd flags, ... from <linux/kvm.h>

}  // namespace hv
