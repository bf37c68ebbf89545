// ExitChannel: the hand-off of exits from one vCPU thread to the JS loop thread (DESIGN.md's threading model).
//   1. the vCPU thread posts writes (port OUT, MMIO store) into a ring and runs on without waiting;
//   2. a read (IN, MMIO load) or a final exit goes into the same ring, after every earlier write, and the vCPU thread
//      waits for its answer: spinning briefly (the loop thread is usually already draining), then on a futex;
//   3. the loop thread takes whole batches (spin, then futex with a timeout, so it can go back to its sockets),
//      handles them in order, and answers the read that ends a batch;
//   4. a full ring makes the vCPU wait for room (back-pressure), never drop or overwrite an exit;
//   5. cancel() wakes every waiter for good (the VM is stopping): a waiting read gets all ones, posts are dropped,
//      and the final record still goes in when there is room.
// One producer, one consumer: head and tail are each written by one side only.
#pragma once
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace hv {

// One exit, as the loop thread reads it (8 u32 words; kinds as the emulated mailbox's, plus the final ones).
struct ExitRecord {
  uint32_t kind;
  uint32_t size;
  uint32_t addressLow;
  uint32_t addressHigh;
  uint32_t dataLow;
  uint32_t dataHigh;
  uint32_t detail;
  uint32_t reserved;
};
// The word indices engine/src/accel/kvm/vcpu-thread-exits.ts reads (RECORD_*).
static_assert(sizeof(ExitRecord) == 32, "ExitRecord is 8 words");
static_assert(offsetof(ExitRecord, size) == 1 * 4 && offsetof(ExitRecord, addressLow) == 2 * 4, "ExitRecord words moved");
static_assert(offsetof(ExitRecord, dataLow) == 4 * 4 && offsetof(ExitRecord, detail) == 6 * 4, "ExitRecord words moved");

constexpr uint32_t kRecordWords = sizeof(ExitRecord) / sizeof(uint32_t);  // words per record in JS's Uint32Array
constexpr uint32_t kRingRecords = 256;        // posted writes in flight before the vCPU waits (power of two)
constexpr uint32_t kThreadExitHlt = 5;        // final: the guest halted
constexpr uint32_t kThreadExitStopped = 6;    // final: the thread ended on request
constexpr uint32_t kThreadExitError = 7;      // final: the CPU failed (detail: code)
constexpr uint32_t kThreadExitShutdown = 8;   // final: triple fault
constexpr uint32_t kThreadExitSystemEvent = 9;  // final: KVM_EXIT_SYSTEM_EVENT (detail: its type)
constexpr int kSpinRounds = 200;              // a few microseconds of polling (pause is ~40-140 cycles) before a futex
constexpr long kRecheckNanos = 10000000;      // a waiting producer re-checks cancellation every 10 ms

inline long Futex(std::atomic<uint32_t>* word, int op, uint32_t value, const timespec* timeout) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op, value, timeout, nullptr, 0);
}

class ExitChannel {
 public:
  // vCPU thread: step 1 (and 4). Returns false once cancelled; a final record is still queued if there is room,
  // so the loop thread learns how the vCPU ended.
  bool Post(const ExitRecord& record, bool final = false) {
    for (;;) {
      uint32_t head = head_.load(std::memory_order_relaxed);
      uint32_t tail = tail_.load(std::memory_order_acquire);
      bool cancelled = cancelled_.load(std::memory_order_acquire);
      if (cancelled && (!final || head - tail >= kRingRecords)) return false;
      if (head - tail < kRingRecords) {
        ring_[head % kRingRecords] = record;
        head_.store(head + 1, std::memory_order_release);
        Futex(&head_, FUTEX_WAKE_PRIVATE, 1, nullptr);
        return true;
      }
      // Step 4: wait for the consumer to make room; the timeout re-checks cancellation (a cancel may land between
      // the check above and the wait).
      timespec recheck{0, kRecheckNanos};
      Futex(&tail_, FUTEX_WAIT_PRIVATE, tail, &recheck);
    }
  }

  // vCPU thread: step 2. Returns the answer (all ones once cancelled).
  uint64_t Request(const ExitRecord& record) {
    uint32_t seq = answerSeq_.load(std::memory_order_acquire);
    if (!Post(record)) return ~0ull;
    for (int i = 0; i < kSpinRounds; i++) {
      if (answerSeq_.load(std::memory_order_acquire) != seq) return answer_;
      __builtin_ia32_pause();
    }
    while (answerSeq_.load(std::memory_order_acquire) == seq) {
      if (cancelled_.load(std::memory_order_acquire)) return ~0ull;
      timespec recheck{0, kRecheckNanos};
      Futex(&answerSeq_, FUTEX_WAIT_PRIVATE, seq, &recheck);
    }
    return answer_;
  }

  // Loop thread: step 3. Copies up to max records into out; waits up to timeoutMicros for the first.
  uint32_t Take(ExitRecord* out, uint32_t max, uint64_t timeoutMicros) {
    uint32_t tail = tail_.load(std::memory_order_relaxed);
    uint32_t head = head_.load(std::memory_order_acquire);
    for (int i = 0; head == tail && i < kSpinRounds; i++) {
      __builtin_ia32_pause();
      head = head_.load(std::memory_order_acquire);
    }
    if (head == tail && timeoutMicros > 0) {
      timespec deadline;
      clock_gettime(CLOCK_MONOTONIC, &deadline);
      uint64_t end = static_cast<uint64_t>(deadline.tv_sec) * 1000000000ull + deadline.tv_nsec + timeoutMicros * 1000ull;
      while ((head = head_.load(std::memory_order_acquire)) == tail && !cancelled_.load(std::memory_order_acquire)) {
        timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        uint64_t nowNs = static_cast<uint64_t>(now.tv_sec) * 1000000000ull + now.tv_nsec;
        if (nowNs >= end) break;
        timespec left{static_cast<time_t>((end - nowNs) / 1000000000ull), static_cast<long>((end - nowNs) % 1000000000ull)};
        Futex(&head_, FUTEX_WAIT_PRIVATE, tail, &left);
      }
    }
    uint32_t count = head - tail;
    if (count > max) count = max;
    for (uint32_t i = 0; i < count; i++) out[i] = ring_[(tail + i) % kRingRecords];
    tail_.store(tail + count, std::memory_order_release);
    if (count > 0) Futex(&tail_, FUTEX_WAKE_PRIVATE, 1, nullptr);
    return count;
  }

  // Loop thread: answers the read that ended the last batch.
  void Answer(uint64_t value) {
    answer_ = value;
    answerSeq_.fetch_add(1, std::memory_order_acq_rel);
    Futex(&answerSeq_, FUTEX_WAKE_PRIVATE, 1, nullptr);
  }

  // Step 5 (either thread).
  void Cancel() {
    cancelled_.store(true, std::memory_order_release);
    answerSeq_.fetch_add(1, std::memory_order_acq_rel);
    Futex(&answerSeq_, FUTEX_WAKE_PRIVATE, 1, nullptr);
    Futex(&tail_, FUTEX_WAKE_PRIVATE, 1, nullptr);
    Futex(&head_, FUTEX_WAKE_PRIVATE, 1, nullptr);
  }

  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

 private:
  ExitRecord ring_[kRingRecords];
  std::atomic<uint32_t> head_{0};       // next record the vCPU writes
  std::atomic<uint32_t> tail_{0};       // next record the loop thread reads
  std::atomic<uint32_t> answerSeq_{0};  // bumped by each answer
  uint64_t answer_ = 0;                 // written before answerSeq_ is bumped
  std::atomic<bool> cancelled_{false};
};

}  // namespace hv
