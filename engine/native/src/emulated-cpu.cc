// Emulated CPU on Unicorn 2.0.1. Rules from DESIGN.md "The engine":
//   1. every engine opens in UC_MODE_64; other CPU modes are seeded from a context (emulated-cpu-sregs.cc);
//   2. slices end only from the UC_HOOK_BLOCK callback (flag or deadline), never uc_emu_stop from an IN/MMIO-read hook;
//   3. HLT has no hook: uc_emu_start returns cleanly with no stop of ours pending, which is how HLT is recognised;
//   4. host writes to guest RAM are invisible to already translated code until Invalidate/FlushAll.
#include "emulated-cpu.h"

#include <time.h>

#include <string>

#include "constants.h"

namespace hv {
namespace {

constexpr uint32_t kClockCheckBlocks = 64;           // blocks between clock reads: bounds both cost and overshoot
constexpr uint64_t kNanosPerMicro = 1000;
constexpr uint64_t kMaxSliceMicros = 60ull * 1000 * 1000;  // one minute; longer slices starve the event loop
constexpr uint16_t kResetFpuControl = 0x037f;        // x87 control word after RESET/FNINIT
constexpr uint32_t kResetMxcsr = 0x1f80;             // MXCSR after RESET: all SIMD exceptions masked
constexpr double kMaxSafeInteger = 9007199254740991.0;
constexpr const char* kPendingErrorKey = "thrown";  // property of the holder object keeping onExit's exception

// Order of the BigUint64Array that getRegs/setRegs exchange (engine/src/accel/accelerator.ts mirrors it).
constexpr int kGeneralRegs[] = {
    UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RSI, UC_X86_REG_RDI,
    UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_R8,  UC_X86_REG_R9,  UC_X86_REG_R10, UC_X86_REG_R11,
    UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15, UC_X86_REG_RIP, UC_X86_REG_RFLAGS,
};
constexpr size_t kGeneralRegCount = sizeof(kGeneralRegs) / sizeof(kGeneralRegs[0]);

uint64_t MonotonicNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t ToUint64(Napi::Env env, const Napi::Value& v, const char* name) {
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 0) || d > kMaxSafeInteger || d != static_cast<double>(static_cast<uint64_t>(d)))
    throw Napi::TypeError::New(env, std::string(name) + " must be a non-negative safe integer");
  return static_cast<uint64_t>(d);
}

uint32_t MaskToSize(uint64_t value, unsigned size) {
  return size >= 4 ? static_cast<uint32_t>(value) : static_cast<uint32_t>(value & ((1u << (size * 8)) - 1));
}

}  // namespace

Napi::Function EmulatedCpu::Init(Napi::Env env) {
  return DefineClass(env, "EmulatedCpu",
                     {
                         InstanceMethod<&EmulatedCpu::MapRam>("mapRam"),
                         InstanceMethod<&EmulatedCpu::MapMmio>("mapMmio"),
                         InstanceMethod<&EmulatedCpu::Run>("run"),
                         InstanceMethod<&EmulatedCpu::RequestStop>("requestStop"),
                         InstanceMethod<&EmulatedCpu::GetRegs>("getRegs"),
                         InstanceMethod<&EmulatedCpu::SetRegs>("setRegs"),
                         InstanceMethod<&EmulatedCpu::SetSregs>("setSregs"),
                         InstanceMethod<&EmulatedCpu::Invalidate>("invalidate"),
                         InstanceMethod<&EmulatedCpu::FlushAll>("flushAll"),
                         InstanceMethod<&EmulatedCpu::Close>("close"),
                     });
}

EmulatedCpu::EmulatedCpu(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EmulatedCpu>(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array ||
      info[0].As<Napi::Uint32Array>().ElementLength() < kMailboxWords || !info[1].IsFunction())
    throw Napi::TypeError::New(env, "EmulatedCpu(exitBuffer: Uint32Array(8), onExit: () => void)");
  mailboxRef_ = Napi::Persistent(info[0].As<Napi::Uint32Array>());
  onExit_ = Napi::Persistent(info[1].As<Napi::Function>());

  uc_err err = uc_open(UC_ARCH_X86, UC_MODE_64, &uc_);
  if (err != UC_ERR_OK) {
    uc_ = nullptr;
    ThrowUc(env, "uc_open", err);
  }
  uc_hook hook;
  struct {
    uc_err err;
    const char* what;
  } steps[] = {
      // Exits mode with no exits: uc_emu_start's `until` never stops us, so guest RIP 0 is ordinary code.
      {uc_ctl_exits_enable(uc_), "enable exits"},
      {uc_hook_add(uc_, &hook, UC_HOOK_BLOCK, reinterpret_cast<void*>(&OnBlock), this, 1, 0), "block hook"},
      {uc_hook_add(uc_, &hook, UC_HOOK_INSN, reinterpret_cast<void*>(&OnIn), this, 1, 0, UC_X86_INS_IN), "IN hook"},
      {uc_hook_add(uc_, &hook, UC_HOOK_INSN, reinterpret_cast<void*>(&OnOut), this, 1, 0, UC_X86_INS_OUT),
       "OUT hook"},
      {uc_hook_add(uc_, &hook, UC_HOOK_INTR, reinterpret_cast<void*>(&OnInterrupt), this, 1, 0), "interrupt hook"},
      {uc_hook_add(uc_, &hook, UC_HOOK_INSN_INVALID, reinterpret_cast<void*>(&OnInvalidInsn), this, 1, 0),
       "invalid-instruction hook"},
      {uc_hook_add(uc_, &hook, UC_HOOK_MEM_UNMAPPED, reinterpret_cast<void*>(&OnUnmapped), this, 1, 0),
       "unmapped-memory hook"},
      {uc_reg_write(uc_, UC_X86_REG_FPCW, &kResetFpuControl), "FPU control word"},
      {uc_reg_write(uc_, UC_X86_REG_MXCSR, &kResetMxcsr), "MXCSR"},
      {uc_context_alloc(uc_, &resetContext_), "context alloc"},
      {uc_context_save(uc_, resetContext_), "context save"},
  };
  for (const auto& step : steps) {
    if (step.err != UC_ERR_OK) {
      uc_err failed = step.err;
      if (resetContext_) uc_context_free(resetContext_);
      resetContext_ = nullptr;
      uc_close(uc_);
      uc_ = nullptr;
      ThrowUc(env, step.what, failed);
    }
  }
}

EmulatedCpu::~EmulatedCpu() {
  if (resetContext_) uc_context_free(resetContext_);
  if (uc_) uc_close(uc_);
}

void EmulatedCpu::ThrowUc(Napi::Env env, const char* what, uc_err err) const {
  Napi::Error e = Napi::Error::New(env, std::string(what) + ": " + uc_strerror(err));
  e.Set("ucErr", Napi::Number::New(env, err));
  throw e;
}

void EmulatedCpu::EnsureUsable(Napi::Env env, const char* what, bool allowWhileRunning) const {
  if (!uc_) throw Napi::Error::New(env, std::string(what) + ": EmulatedCpu is closed");
  if (running_ && !allowWhileRunning)
    throw Napi::Error::New(env, std::string(what) + ": not allowed from inside an exit handler");
}

bool EmulatedCpu::InRam(uint64_t gpa, uint64_t length) const {
  for (const auto& r : ram_)
    if (gpa >= r.gpa && gpa - r.gpa <= r.mapping->sizeBytes && length <= r.mapping->sizeBytes - (gpa - r.gpa))
      return true;
  return false;
}

void EmulatedCpu::MapRam(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureUsable(env, "mapRam");
  uint64_t gpa = ToUint64(env, info[0], "gpa");
  if (info.Length() < 2 || !GuestMemory::IsInstance(env, info[1]))
    throw Napi::TypeError::New(env, "mapRam(gpa, memory: GuestMemory)");
  auto mapping = GuestMemory::Unwrap(info[1].As<Napi::Object>())->mapping();
  uc_err err = uc_mem_map_ptr(uc_, gpa, mapping->sizeBytes, UC_PROT_ALL, mapping->ram);
  if (err != UC_ERR_OK) ThrowUc(env, "uc_mem_map_ptr", err);
  ram_.push_back({gpa, mapping});
}

void EmulatedCpu::MapMmio(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureUsable(env, "mapMmio");
  uint64_t gpa = ToUint64(env, info[0], "gpa");
  uint64_t size = ToUint64(env, info[1], "size");
  auto region = std::make_unique<MmioRegion>(MmioRegion{this, gpa});
  uc_err err = uc_mmio_map(uc_, gpa, size, &OnMmioRead, region.get(), &OnMmioWrite, region.get());
  if (err != UC_ERR_OK) ThrowUc(env, "uc_mmio_map", err);
  mmio_.push_back(std::move(region));
}

Napi::Value EmulatedCpu::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureUsable(env, "run");
  uint64_t micros = ToUint64(env, info[0], "sliceMicros");
  if (micros == 0 || micros > kMaxSliceMicros) throw Napi::RangeError::New(env, "sliceMicros out of range");
  Napi::Uint32Array mailbox = mailboxRef_.Value();
  if (mailbox.ElementLength() < kMailboxWords) throw Napi::Error::New(env, "exit mailbox was detached");
  mailbox_ = mailbox.Data();

  uint64_t rip = 0;
  uc_reg_read(uc_, UC_X86_REG_RIP, &rip);
  stopReason_ = StopReason::kNone;
  blocksSinceClock_ = 0;
  deadlineNanos_ = MonotonicNanos() + micros * kNanosPerMicro;
  running_ = true;
  uc_err err = uc_emu_start(uc_, rip, 0, 0, 0);
  running_ = false;

  if (hasPendingError_) {
    hasPendingError_ = false;
    if (pendingError_.IsEmpty()) throw Napi::Error::New(env, "run: calling onExit failed");
    Napi::Value thrown = pendingError_.Value().Get(kPendingErrorKey);
    pendingError_.Reset();
    napi_throw(env, thrown);  // rethrow the original value unchanged
    return Napi::Value();
  }
  uint32_t result = kRunHlt;  // a clean return that none of our stops explains is HLT
  switch (stopReason_) {
    case StopReason::kRequested:
      stopRequested_ = false;
      result = kRunStopRequested;
      break;
    case StopReason::kSliceEnd: result = kRunSliceEnd; break;
    case StopReason::kException: result = kRunException; break;
    case StopReason::kUnmapped: result = kRunUnmapped; break;
    case StopReason::kInvalidInsn: result = kRunInvalidInsn; break;
    case StopReason::kNone:
    case StopReason::kAborted: break;
  }
  if (err == UC_ERR_INSN_INVALID) {
    result = kRunInvalidInsn;
  } else if (err != UC_ERR_OK && stopReason_ != StopReason::kUnmapped) {
    mailbox_[kMailboxDetail] = err;
    result = kRunError;
  }
  return Napi::Number::New(env, result);
}

void EmulatedCpu::RequestStop(const Napi::CallbackInfo&) { stopRequested_ = true; }

void EmulatedCpu::ReadGeneralRegs(uint64_t* out) const {
  for (size_t i = 0; i < kGeneralRegCount; i++) uc_reg_read(uc_, kGeneralRegs[i], &out[i]);
}

void EmulatedCpu::WriteGeneralRegs(const uint64_t* in) {
  for (size_t i = 0; i < kGeneralRegCount; i++) uc_reg_write(uc_, kGeneralRegs[i], &in[i]);
}

static Napi::BigUint64Array RegsArray(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_biguint64_array ||
      info[0].As<Napi::TypedArray>().ElementLength() != kGeneralRegCount)
    throw Napi::TypeError::New(info.Env(), "expected a BigUint64Array of 18 registers");
  return info[0].As<Napi::BigUint64Array>();
}

void EmulatedCpu::GetRegs(const Napi::CallbackInfo& info) {
  EnsureUsable(info.Env(), "getRegs", true);
  ReadGeneralRegs(RegsArray(info).Data());
}

void EmulatedCpu::SetRegs(const Napi::CallbackInfo& info) {
  EnsureUsable(info.Env(), "setRegs");
  WriteGeneralRegs(RegsArray(info).Data());
}

void EmulatedCpu::RemoveCache(uint64_t gpa, uint64_t length) {
  // One call per page: 2.0.1 invalidates [page, end) for every page of a multi-page request (quadratic).
  // Unicorn translates the address through the current page tables (identity maps assumed, as DESIGN.md says);
  // an address the tables do not map is skipped harmlessly.
  uint64_t end = gpa + length;
  for (uint64_t page = gpa & ~(kPageSize - 1); page < end; page += kPageSize) {
    uint64_t pageEnd = page + kPageSize;
    uc_ctl_remove_cache(uc_, page, pageEnd);
  }
}

// Page by page over all RAM rather than UC_CTL_TB_FLUSH, which touches the whole 1 GiB code buffer (seconds on
// first use); about 25 ms per GiB.
void EmulatedCpu::FlushTranslations() {
  for (const auto& r : ram_) RemoveCache(r.gpa, r.mapping->sizeBytes);
}

void EmulatedCpu::Invalidate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // Allowed inside exits: a device doing DMA from an OUT/MMIO handler must invalidate what it wrote.
  EnsureUsable(env, "invalidate", true);
  uint64_t gpa = ToUint64(env, info[0], "gpa");
  uint64_t length = ToUint64(env, info[1], "length");
  if (length > 0) RemoveCache(gpa, length);
}

void EmulatedCpu::FlushAll(const Napi::CallbackInfo& info) {
  EnsureUsable(info.Env(), "flushAll");  // a full flush frees the code the current block is running from
  FlushTranslations();
}

void EmulatedCpu::Close(const Napi::CallbackInfo& info) {
  if (running_) throw Napi::Error::New(info.Env(), "close: not allowed from inside an exit handler");
  if (!uc_) return;
  if (resetContext_) uc_context_free(resetContext_);
  resetContext_ = nullptr;
  uc_close(uc_);
  uc_ = nullptr;
  ram_.clear();
  mmio_.clear();
}

// ---- hooks ----

void EmulatedCpu::Fill(uint32_t kind, uint32_t size, uint64_t address, uint64_t data) {
  mailbox_[kMailboxKind] = kind;
  mailbox_[kMailboxSize] = size;
  mailbox_[kMailboxAddressLow] = static_cast<uint32_t>(address);
  mailbox_[kMailboxAddressHigh] = static_cast<uint32_t>(address >> 32);
  mailbox_[kMailboxDataLow] = static_cast<uint32_t>(data);
  mailbox_[kMailboxDataHigh] = static_cast<uint32_t>(data >> 32);
}

void EmulatedCpu::CallExit() {
  if (hasPendingError_) return;  // JS already failed this run: stop calling it, let the block hook end the run
  // Raw N-API and no C++ exceptions here: nothing may unwind through Unicorn's C frames.
  napi_env env = env_;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    hasPendingError_ = true;  // leaves pendingError_ empty: Run reports a generic failure
    return;
  }
  napi_value fn, receiver, result;
  napi_status status = napi_get_reference_value(env, onExit_, &fn);
  if (status == napi_ok) status = napi_get_undefined(env, &receiver);
  if (status == napi_ok) status = napi_call_function(env, receiver, fn, 0, nullptr, &result);
  if (status != napi_ok) {
    // Keep whatever was thrown (primitives too) in a holder object, rethrown by Run after uc_emu_start returns.
    napi_value thrown = nullptr, holder = nullptr;
    bool pending = false;
    napi_ref ref = nullptr;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) napi_get_and_clear_last_exception(env, &thrown);
    if (thrown && napi_create_object(env, &holder) == napi_ok &&
        napi_set_named_property(env, holder, kPendingErrorKey, thrown) == napi_ok &&
        napi_create_reference(env, holder, 1, &ref) == napi_ok)
      pendingError_ = Napi::ObjectReference(env, ref);
    hasPendingError_ = true;
  }
  napi_close_handle_scope(env, scope);
}

void EmulatedCpu::OnBlock(uc_engine* uc, uint64_t, uint32_t, void* opaque) {
  auto* self = static_cast<EmulatedCpu*>(opaque);
  if (self->stopRequested_ || self->hasPendingError_) {
    self->stopReason_ = self->stopRequested_ ? StopReason::kRequested : StopReason::kAborted;
    uc_emu_stop(uc);
  } else if (++self->blocksSinceClock_ >= kClockCheckBlocks) {
    self->blocksSinceClock_ = 0;
    if (MonotonicNanos() >= self->deadlineNanos_) {
      self->stopReason_ = StopReason::kSliceEnd;
      uc_emu_stop(uc);
    }
  }
}

uint32_t EmulatedCpu::OnIn(uc_engine*, uint32_t port, int size, void* opaque) {
  auto* self = static_cast<EmulatedCpu*>(opaque);
  self->Fill(kExitIoIn, size, port, 0);
  self->CallExit();
  return MaskToSize(self->mailbox_[kMailboxDataLow], size);
}

void EmulatedCpu::OnOut(uc_engine*, uint32_t port, int size, uint32_t value, void* opaque) {
  auto* self = static_cast<EmulatedCpu*>(opaque);
  self->Fill(kExitIoOut, size, port, MaskToSize(value, size));
  self->CallExit();
}

uint64_t EmulatedCpu::OnMmioRead(uc_engine*, uint64_t offset, unsigned size, void* opaque) {
  auto* region = static_cast<MmioRegion*>(opaque);
  EmulatedCpu* self = region->cpu;
  self->Fill(kExitMmioRead, size, region->gpa + offset, 0);
  self->CallExit();
  uint64_t low = self->mailbox_[kMailboxDataLow];
  if (size >= 8) return low | (static_cast<uint64_t>(self->mailbox_[kMailboxDataHigh]) << 32);
  return MaskToSize(low, size);
}

void EmulatedCpu::OnMmioWrite(uc_engine*, uint64_t offset, unsigned size, uint64_t value, void* opaque) {
  auto* region = static_cast<MmioRegion*>(opaque);
  EmulatedCpu* self = region->cpu;
  self->Fill(kExitMmioWrite, size, region->gpa + offset, size >= 8 ? value : MaskToSize(value, size));
  self->CallExit();
}

void EmulatedCpu::OnInterrupt(uc_engine* uc, uint32_t vector, void* opaque) {
  auto* self = static_cast<EmulatedCpu*>(opaque);
  // Unicorn cannot deliver through the IDT, so an exception ends the run (the VM treats it as a triple fault).
  self->mailbox_[kMailboxDetail] = vector;
  self->stopReason_ = StopReason::kException;
  uc_emu_stop(uc);
}

bool EmulatedCpu::OnInvalidInsn(uc_engine*, void* opaque) {
  static_cast<EmulatedCpu*>(opaque)->stopReason_ = StopReason::kInvalidInsn;
  return false;  // stop with UC_ERR_INSN_INVALID
}

bool EmulatedCpu::OnUnmapped(uc_engine*, uc_mem_type type, uint64_t address, int size, int64_t, void* opaque) {
  auto* self = static_cast<EmulatedCpu*>(opaque);
  uint32_t access = type == UC_MEM_WRITE_UNMAPPED ? kAccessWrite
                    : type == UC_MEM_FETCH_UNMAPPED ? kAccessFetch
                                                    : kAccessRead;
  self->Fill(0, size, address, 0);
  self->mailbox_[kMailboxDetail] = access;
  self->stopReason_ = StopReason::kUnmapped;
  return false;  // stop with UC_ERR_*_UNMAPPED
}

}  // namespace hv
