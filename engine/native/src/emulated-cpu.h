// EmulatedCpu: one Unicorn x86 engine (always UC_MODE_64) running guest code on the calling (event-loop) thread.
#pragma once
#include <napi.h>
#include <unicorn/unicorn.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "guest-memory.h"

namespace hv {

class EmulatedCpu : public Napi::ObjectWrap<EmulatedCpu> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit EmulatedCpu(const Napi::CallbackInfo& info);
  ~EmulatedCpu() override;

 private:
  struct RamRegion {
    uint64_t gpa;
    std::shared_ptr<HostMapping> mapping;  // keeps the host pages alive while Unicorn points at them
  };
  struct MmioRegion {
    EmulatedCpu* cpu;
    uint64_t gpa;
  };
  enum class StopReason { kNone, kRequested, kAborted, kSliceEnd, kException, kUnmapped, kInvalidInsn };

  // JS-facing methods.
  void MapRam(const Napi::CallbackInfo& info);
  void MapMmio(const Napi::CallbackInfo& info);
  Napi::Value Run(const Napi::CallbackInfo& info);
  void RequestStop(const Napi::CallbackInfo& info);
  void GetRegs(const Napi::CallbackInfo& info);
  void SetRegs(const Napi::CallbackInfo& info);
  void SetSregs(const Napi::CallbackInfo& info);  // emulated-cpu-sregs.cc
  void Invalidate(const Napi::CallbackInfo& info);
  void FlushAll(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  // Unicorn hooks (static trampolines; user data is this).
  static void OnBlock(uc_engine* uc, uint64_t address, uint32_t size, void* self);
  static uint32_t OnIn(uc_engine* uc, uint32_t port, int size, void* self);
  static void OnOut(uc_engine* uc, uint32_t port, int size, uint32_t value, void* self);
  static void OnInterrupt(uc_engine* uc, uint32_t vector, void* self);
  static bool OnInvalidInsn(uc_engine* uc, void* self);
  static bool OnUnmapped(uc_engine* uc, uc_mem_type type, uint64_t address, int size, int64_t value, void* self);
  static uint64_t OnMmioRead(uc_engine* uc, uint64_t offset, unsigned size, void* region);
  static void OnMmioWrite(uc_engine* uc, uint64_t offset, unsigned size, uint64_t value, void* region);

  void CallExit();  // hands the filled mailbox to JS; never lets a JS exception unwind through Unicorn
  void Fill(uint32_t kind, uint32_t size, uint64_t address, uint64_t data);
  void EnsureUsable(Napi::Env env, const char* what, bool allowWhileRunning = false) const;
  void ThrowUc(Napi::Env env, const char* what, uc_err err) const;
  void ReadGeneralRegs(uint64_t* out) const;
  void WriteGeneralRegs(const uint64_t* in);
  void RemoveCache(uint64_t gpa, uint64_t length);
  void FlushTranslations();
  bool InRam(uint64_t gpa, uint64_t length) const;

  uc_engine* uc_ = nullptr;
  Napi::Env env_;
  Napi::Reference<Napi::Uint32Array> mailboxRef_;
  uint32_t* mailbox_ = nullptr;  // refreshed from mailboxRef_ at the start of every run
  Napi::FunctionReference onExit_;
  Napi::ObjectReference pendingError_;  // JS exception thrown by onExit during a run, rethrown by run()
  bool hasPendingError_ = false;
  std::vector<RamRegion> ram_;
  std::vector<std::unique_ptr<MmioRegion>> mmio_;
  uc_context* resetContext_ = nullptr;  // pristine UC_MODE_64 state: the only source of EFER.LMA (see sregs)
  bool running_ = false;
  bool stopRequested_ = false;
  StopReason stopReason_ = StopReason::kNone;
  uint64_t deadlineNanos_ = 0;
  uint32_t blocksSinceClock_ = 0;
};

}  // namespace hv
