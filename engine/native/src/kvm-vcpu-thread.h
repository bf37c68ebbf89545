// VcpuThread: one vCPU running on a native thread of its own, its exits handed to the JS loop thread through an
// ExitChannel (kvm-exit-channel.h): writes posted, reads and final exits waited for. Two CPUs can drive it:
//   - KVM: a VcpuFd in a KVM_RUN loop, kvm_run decoded on the vCPU thread; stop() sets immediate_exit and sends
//     the kick signal to the thread;
//   - emulated: a Unicorn x86-64 engine of its own over a GuestMemory (the way tests here drive the same hand-off
//     without /dev/kvm); stop() raises a flag its block hook turns into uc_emu_stop on the vCPU thread itself.
// JS: start(), take(out, timeoutMicros) for batches of ExitRecord words, answer(low, high) for the read that ends a
// batch, requestStop() to end the thread at its next exit (the loop thread drains until the final STOPPED record, so
// no read goes unanswered and the vCPU can run again on a new thread), stop() to cancel and join (also done by close
// and the destructor). A thread runs once: a paused vCPU resumes on a new VcpuThread.
#pragma once
#include <napi.h>
#include <pthread.h>
#include <unicorn/unicorn.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "guest-memory.h"
#include "kvm-exit-channel.h"
#include "kvm-vcpu.h"

namespace hv {

class VcpuThread : public Napi::ObjectWrap<VcpuThread> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Object Constants(Napi::Env env);
  // new VcpuThread(vcpuFd) or new VcpuThread({ memory, mmioGpa, mmioSize, rip, rsp }) (emulated, 64-bit mode).
  explicit VcpuThread(const Napi::CallbackInfo& info);
  ~VcpuThread() override;

 private:
  void Start(const Napi::CallbackInfo& info);
  Napi::Value Take(const Napi::CallbackInfo& info);
  void Answer(const Napi::CallbackInfo& info);
  void Stop(const Napi::CallbackInfo& info);
  void RequestStop(const Napi::CallbackInfo& info);
  void StopAndJoin();

  void RunKvm();
  void RunEmulated();
  void Final(uint32_t kind, uint32_t detail);
  static void OnBlock(uc_engine* uc, uint64_t address, uint32_t size, void* self);
  static uint32_t OnIn(uc_engine* uc, uint32_t port, int size, void* self);
  static void OnOut(uc_engine* uc, uint32_t port, int size, uint32_t value, void* self);
  static void OnInterrupt(uc_engine* uc, uint32_t vector, void* self);
  static uint64_t OnMmioRead(uc_engine* uc, uint64_t offset, unsigned size, void* self);
  static void OnMmioWrite(uc_engine* uc, uint64_t offset, unsigned size, uint64_t value, void* self);

  ExitChannel channel_;
  std::thread thread_;
  pthread_t threadHandle_{};
  std::atomic<bool> running_{false};
  std::atomic<bool> stopRequested_{false};
  // KVM backend.
  Napi::ObjectReference vcpuRef_;
  int vcpuFd_ = -1;
  std::shared_ptr<RunMapping> run_;
  // Emulated backend.
  uc_engine* uc_ = nullptr;
  std::shared_ptr<HostMapping> memory_;
  uint64_t mmioGpa_ = 0;
  uint64_t rip_ = 0;
  uint32_t exceptionVector_ = 0;
  bool faulted_ = false;
};

}  // namespace hv
