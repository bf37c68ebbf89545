// Numbers shared with TypeScript (engine/src/accel/exit.ts re-declares them; a test checks they match).
#pragma once
#include <cstdint>

namespace hv {

// Shared exit mailbox: u32 words written by native, read (and for reads answered) by JS.
constexpr uint32_t kMailboxWords = 8;       // length of the Uint32Array the caller passes
constexpr uint32_t kMailboxKind = 0;        // one of the kExit* kinds
constexpr uint32_t kMailboxSize = 1;        // access size in bytes
constexpr uint32_t kMailboxAddressLow = 2;  // port, guest-physical or faulting address, low 32 bits
constexpr uint32_t kMailboxAddressHigh = 3; // high 32 bits of the address
constexpr uint32_t kMailboxDataLow = 4;     // data written by the guest, or the value JS answers a read with
constexpr uint32_t kMailboxDataHigh = 5;    // high 32 bits of 8-byte MMIO data
constexpr uint32_t kMailboxDetail = 6;      // exception vector, uc_err code or unmapped access type

// Mailbox kinds for exits delivered from inside hooks.
constexpr uint32_t kExitIoIn = 1;       // IN instruction: JS answers in the data words
constexpr uint32_t kExitIoOut = 2;      // OUT instruction
constexpr uint32_t kExitMmioRead = 3;   // load from a mapMmio region: JS answers in the data words
constexpr uint32_t kExitMmioWrite = 4;  // store to a mapMmio region

// run() result codes.
constexpr uint32_t kRunSliceEnd = 0;      // the time slice ran out
constexpr uint32_t kRunStopRequested = 1; // requestStop() was called
constexpr uint32_t kRunHlt = 2;           // the guest executed HLT; RIP is after it
constexpr uint32_t kRunException = 3;     // a CPU exception reached UC_HOOK_INTR; vector in kMailboxDetail
constexpr uint32_t kRunInvalidInsn = 4;   // undecodable instruction (Unicorn stops instead of raising #UD)
constexpr uint32_t kRunUnmapped = 5;      // access to unmapped guest-physical memory; address in the address words
constexpr uint32_t kRunError = 6;         // uc_emu_start failed otherwise; uc_err in kMailboxDetail

// Access types reported with kRunUnmapped in kMailboxDetail.
constexpr uint32_t kAccessRead = 0;
constexpr uint32_t kAccessWrite = 1;
constexpr uint32_t kAccessFetch = 2;

constexpr uint64_t kPageSize = 4096;  // guest and host page size the engine assumes

}  // namespace hv
