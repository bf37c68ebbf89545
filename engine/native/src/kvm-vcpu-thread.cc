#include "kvm-vcpu-thread.h"

#include <linux/kvm.h>
#include <signal.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <string>

#include "constants.h"
#include "kvm-errno.h"

namespace hv {
namespace {

// Most records one take() copies out.
constexpr uint32_t kMaxTake = kRingRecords;
// Largest MMIO access KVM reports.
constexpr uint32_t kMaxMmioLen = 8;

ExitRecord Record(uint32_t kind, uint32_t size, uint64_t address, uint64_t data) {
  ExitRecord r{};
  r.kind = kind;
  r.size = size;
  r.addressLow = static_cast<uint32_t>(address);
  r.addressHigh = static_cast<uint32_t>(address >> 32);
  r.dataLow = static_cast<uint32_t>(data);
  r.dataHigh = static_cast<uint32_t>(data >> 32);
  return r;
}

uint64_t Truncate(uint64_t value, uint32_t size) { return size >= 8 ? value : value & ((1ull << (size * 8)) - 1); }

}  // namespace

Napi::Function VcpuThread::Init(Napi::Env env) {
  return DefineClass(env, "VcpuThread",
                     {
                         InstanceMethod<&VcpuThread::Start>("start"),
                         InstanceMethod<&VcpuThread::Take>("take"),
                         InstanceMethod<&VcpuThread::Answer>("answer"),
                         InstanceMethod<&VcpuThread::RequestStop>("requestStop"),
                         InstanceMethod<&VcpuThread::Stop>("stop"),
                         InstanceMethod<&VcpuThread::Stop>("close"),
                     });
}

Napi::Object VcpuThread::Constants(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("kRecordWords", kRecordWords);
  o.Set("kRingRecords", kRingRecords);
  o.Set("kThreadExitHlt", kThreadExitHlt);
  o.Set("kThreadExitStopped", kThreadExitStopped);
  o.Set("kThreadExitError", kThreadExitError);
  o.Set("kThreadExitShutdown", kThreadExitShutdown);
  o.Set("kThreadExitSystemEvent", kThreadExitSystemEvent);
  return o;
}

VcpuThread::VcpuThread(const Napi::CallbackInfo& info) : Napi::ObjectWrap<VcpuThread>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "VcpuThread(vcpuFd | emulated options)");
  Napi::Object arg = info[0].As<Napi::Object>();
  if (!arg.Has("memory")) {
    VcpuFd* vcpu = VcpuFd::FromValue(env, arg);
    if (vcpu->fd() < 0) throw Napi::Error::New(env, "VcpuThread: the VcpuFd is closed");
    vcpuRef_ = Napi::Persistent(arg);
    vcpuFd_ = vcpu->fd();
    run_ = vcpu->runMapping();
    InstallKickHandler(env);
    return;
  }
  Napi::Value memory = arg.Get("memory");
  if (!GuestMemory::IsInstance(env, memory)) throw Napi::TypeError::New(env, "memory must be a GuestMemory");
  memory_ = GuestMemory::Unwrap(memory.As<Napi::Object>())->mapping();
  auto u64 = [&](const char* name) {
    Napi::Value v = arg.Get(name);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0) || d > 9007199254740991.0 || d != static_cast<double>(static_cast<uint64_t>(d)))
      throw Napi::RangeError::New(env, std::string(name) + " must be a non-negative safe integer");
    return static_cast<uint64_t>(d);
  };
  mmioGpa_ = u64("mmioGpa");
  uint64_t mmioSize = u64("mmioSize");
  rip_ = u64("rip");
  uint64_t rsp = u64("rsp");
  uc_err err = uc_open(UC_ARCH_X86, UC_MODE_64, &uc_);
  if (err != UC_ERR_OK) throw Napi::Error::New(env, std::string("uc_open: ") + uc_strerror(err));
  uc_hook hook;
  struct Step {
    uc_err err;
    const char* what;
  } steps[] = {
      {uc_mem_map_ptr(uc_, 0, memory_->sizeBytes, UC_PROT_ALL, memory_->ram), "uc_mem_map_ptr"},
      {uc_mmio_map(uc_, mmioGpa_, mmioSize, &OnMmioRead, this, &OnMmioWrite, this), "uc_mmio_map"},
      {uc_hook_add(uc_, &hook, UC_HOOK_BLOCK, reinterpret_cast<void*>(&OnBlock), this, 1, 0), "block hook"},
      {uc_hook_add(uc_, &hook, UC_HOOK_INSN, reinterpret_cast<void*>(&OnIn), this, 1, 0, UC_X86_INS_IN), "IN hook"},
      {uc_hook_add(uc_, &hook, UC_HOOK_INSN, reinterpret_cast<void*>(&OnOut), this, 1, 0, UC_X86_INS_OUT), "OUT hook"},
      {uc_hook_add(uc_, &hook, UC_HOOK_INTR, reinterpret_cast<void*>(&OnInterrupt), this, 1, 0), "interrupt hook"},
      {uc_reg_write(uc_, UC_X86_REG_RSP, &rsp), "RSP"},
  };
  for (const Step& step : steps) {
    if (step.err != UC_ERR_OK) {
      uc_close(uc_);
      uc_ = nullptr;
      throw Napi::Error::New(env, std::string(step.what) + ": " + uc_strerror(step.err));
    }
  }
}

VcpuThread::~VcpuThread() {
  StopAndJoin();
  if (uc_ != nullptr) uc_close(uc_);
}

void VcpuThread::Start(const Napi::CallbackInfo& info) {
  if (thread_.joinable() || channel_.cancelled()) throw Napi::Error::New(info.Env(), "VcpuThread: already started");
  // A previous thread's stop left immediate_exit set on the shared kvm_run.
  if (run_) reinterpret_cast<kvm_run*>(run_->base)->immediate_exit = 0;
  running_ = true;
  thread_ = std::thread([this] {
    if (uc_ != nullptr) RunEmulated();
    else RunKvm();
    running_ = false;
  });
  threadHandle_ = thread_.native_handle();
}

// take(out: Uint32Array, timeoutMicros): copies whole records into out; returns how many.
Napi::Value VcpuThread::Take(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
    throw Napi::TypeError::New(env, "take(out: Uint32Array, timeoutMicros)");
  Napi::Uint32Array out = info[0].As<Napi::Uint32Array>();
  uint64_t timeout = U64Arg(info, 1, "timeoutMicros");
  uint32_t room = static_cast<uint32_t>(out.ElementLength() / kRecordWords);
  if (room > kMaxTake) room = kMaxTake;
  ExitRecord records[kMaxTake];
  uint32_t count = channel_.Take(records, room, timeout);
  memcpy(out.Data(), records, count * sizeof(ExitRecord));
  return Napi::Number::New(env, count);
}

void VcpuThread::Answer(const Napi::CallbackInfo& info) {
  uint64_t low = U32Arg(info, 0, "low");
  uint64_t high = info.Length() > 1 ? U32Arg(info, 1, "high") : 0;
  channel_.Answer(low | (high << 32));
}

void VcpuThread::Stop(const Napi::CallbackInfo&) { StopAndJoin(); }

// The thread leaves at its next exit (KVM: immediate_exit and the kick end KVM_RUN at once; emulated: the next block)
// with a STOPPED record; reads still get their answers, since the channel stays open.
void VcpuThread::RequestStop(const Napi::CallbackInfo&) {
  stopRequested_ = true;
  if (run_) reinterpret_cast<kvm_run*>(run_->base)->immediate_exit = 1;
  if (running_ && run_) pthread_kill(threadHandle_, KickSignal());
}

void VcpuThread::StopAndJoin() {
  stopRequested_ = true;
  if (run_) reinterpret_cast<kvm_run*>(run_->base)->immediate_exit = 1;
  channel_.Cancel();
  if (thread_.joinable()) {
    if (running_ && run_) pthread_kill(threadHandle_, KickSignal());
    thread_.join();
  }
}

void VcpuThread::Final(uint32_t kind, uint32_t detail) {
  ExitRecord r = Record(kind, 0, 0, 0);
  r.detail = detail;
  channel_.Post(r, true);
}

// The KVM_RUN loop: steps of engine/src/accel/kvm/kvm-exit-decoder.ts, on the vCPU thread.
void VcpuThread::RunKvm() {
  sigset_t kick;
  sigemptyset(&kick);
  sigaddset(&kick, KickSignal());
  pthread_sigmask(SIG_UNBLOCK, &kick, nullptr);
  auto* run = reinterpret_cast<kvm_run*>(run_->base);
  auto* bytes = static_cast<uint8_t*>(run_->base);
  while (!stopRequested_) {
    if (ioctl(vcpuFd_, KVM_RUN, 0) < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Final(kThreadExitError, static_cast<uint32_t>(errno));
    }
    switch (run->exit_reason) {
      case KVM_EXIT_IO: {
        uint32_t size = run->io.size;
        uint64_t end = run->io.data_offset + static_cast<uint64_t>(size) * run->io.count;
        if ((size != 1 && size != 2 && size != 4) || run->io.data_offset < sizeof(kvm_run) || end > run_->size)
          return Final(kThreadExitError, KVM_EXIT_IO);
        for (uint32_t i = 0; i < run->io.count; i++) {
          uint8_t* item = bytes + run->io.data_offset + i * size;
          if (run->io.direction == KVM_EXIT_IO_OUT) {
            uint32_t value = 0;
            memcpy(&value, item, size);
            channel_.Post(Record(kExitIoOut, size, run->io.port, value));
          } else {
            uint64_t value = channel_.Request(Record(kExitIoIn, size, run->io.port, 0));
            memcpy(item, &value, size);
          }
        }
        break;
      }
      case KVM_EXIT_MMIO: {
        uint32_t len = run->mmio.len;
        if (len < 1 || len > kMaxMmioLen) return Final(kThreadExitError, KVM_EXIT_MMIO);
        uint64_t value = 0;
        if (run->mmio.is_write) {
          memcpy(&value, run->mmio.data, len);
          channel_.Post(Record(kExitMmioWrite, len, run->mmio.phys_addr, value));
        } else {
          value = channel_.Request(Record(kExitMmioRead, len, run->mmio.phys_addr, 0));
          memcpy(run->mmio.data, &value, len);
        }
        break;
      }
      case KVM_EXIT_INTR:
        break;
      case KVM_EXIT_HLT:
        return Final(kThreadExitHlt, 0);
      case KVM_EXIT_SHUTDOWN:
        return Final(kThreadExitShutdown, 0);
      case KVM_EXIT_SYSTEM_EVENT:
        return Final(kThreadExitSystemEvent, run->system_event.type);
      default:
        return Final(kThreadExitError, run->exit_reason);
    }
  }
  Final(kThreadExitStopped, 0);
}

void VcpuThread::RunEmulated() {
  uc_err err = uc_emu_start(uc_, rip_, 0, 0, 0);
  if (stopRequested_) return Final(kThreadExitStopped, 0);
  if (faulted_) return Final(kThreadExitShutdown, exceptionVector_);
  if (err != UC_ERR_OK) return Final(kThreadExitError, err);
  Final(kThreadExitHlt, 0);  // uc_emu_start returns after HLT
}

void VcpuThread::OnBlock(uc_engine* uc, uint64_t, uint32_t, void* self) {
  if (static_cast<VcpuThread*>(self)->stopRequested_.load(std::memory_order_relaxed)) uc_emu_stop(uc);
}

uint32_t VcpuThread::OnIn(uc_engine*, uint32_t port, int size, void* self) {
  auto* t = static_cast<VcpuThread*>(self);
  return static_cast<uint32_t>(Truncate(t->channel_.Request(Record(kExitIoIn, size, port, 0)), size));
}

void VcpuThread::OnOut(uc_engine*, uint32_t port, int size, uint32_t value, void* self) {
  static_cast<VcpuThread*>(self)->channel_.Post(Record(kExitIoOut, size, port, value));
}

void VcpuThread::OnInterrupt(uc_engine* uc, uint32_t vector, void* self) {
  auto* t = static_cast<VcpuThread*>(self);
  t->faulted_ = true;
  t->exceptionVector_ = vector;
  uc_emu_stop(uc);
}

uint64_t VcpuThread::OnMmioRead(uc_engine*, uint64_t offset, unsigned size, void* self) {
  auto* t = static_cast<VcpuThread*>(self);
  return Truncate(t->channel_.Request(Record(kExitMmioRead, size, t->mmioGpa_ + offset, 0)), size);
}

void VcpuThread::OnMmioWrite(uc_engine*, uint64_t offset, unsigned size, uint64_t value, void* self) {
  auto* t = static_cast<VcpuThread*>(self);
  t->channel_.Post(Record(kExitMmioWrite, size, t->mmioGpa_ + offset, value));
}

}  // namespace hv
