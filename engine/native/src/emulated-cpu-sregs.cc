// setSregs: builds a kvm_sregs-like start state with the descriptor caches loaded from the GDT in guest RAM.
// Unicorn 2.0.1 loads descriptors only when a UC_MODE_32 engine writes a segment register with CR0.PE set
// (UC_MODE_64 writes just the selector), and its UC_MODE_32 CPU masks EFER.LME. So:
//   1. open a scratch UC_MODE_32 engine over the same host RAM; for long mode restore the pristine UC_MODE_64
//      context into it first (the only way to get EFER.LME/LMA there);
//   2. set GDTR/IDTR and CR0 without PG, load ES DS FS GS SS CS (descriptor reads are physical: no page walk
//      can fault outside emulation), then CR4, CR3 and CR0 with PG;
//   3. save that context and restore it into the UC_MODE_64 engine, keeping its general registers and FPU control;
//   4. rewrite what the 32-bit engine truncates (64-bit GDTR/IDTR/TR/FS/GS bases) and EFER, then flush the TLB.
// Translated blocks need no flush: they are looked up by CS base and CPU-mode flags, which the new state changes.
#include <string>

#include "constants.h"
#include "emulated-cpu.h"

namespace hv {
namespace {

constexpr uint64_t kCr0Pe = 1ull << 0;     // protected mode enable
constexpr uint64_t kCr0Pg = 1ull << 31;    // paging
constexpr uint64_t kCr4Pae = 1ull << 5;    // physical address extension (required for long mode)
constexpr uint64_t kCr4Pge = 1ull << 7;    // global pages: toggled to force a full TLB flush
constexpr uint64_t kEferLme = 1ull << 8;   // long mode enable
constexpr uint64_t kEferLma = 1ull << 10;  // long mode active (set by the CPU, never written)
constexpr uint32_t kMsrEfer = 0xc0000080;  // IA32_EFER
constexpr uint64_t kFourGiB = 1ull << 32;  // the scratch UC_MODE_32 engine truncates bases and CR3 to 32 bits
constexpr uint32_t kSelectorIndexMask = 0xfff8;  // selector bits that index the GDT

// Descriptor flag layout Unicorn (QEMU) keeps in SegmentCache.flags: the high dword of a descriptor.
constexpr int kDescTypeShift = 8;
constexpr int kDescSShift = 12;
constexpr int kDescDplShift = 13;
constexpr int kDescPShift = 15;
constexpr int kDescLShift = 21;
constexpr int kDescDbShift = 22;
constexpr int kDescGShift = 23;

double Field(Napi::Env env, const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("setSregs: ") + key + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 9007199254740991.0 || d != static_cast<double>(static_cast<uint64_t>(d)))
    throw Napi::TypeError::New(env, std::string("setSregs: ") + key + " must be a non-negative safe integer");
  return d;
}

uint64_t U64(Napi::Env env, const Napi::Object& o, const char* key) {
  return static_cast<uint64_t>(Field(env, o, key));
}

Napi::Object Sub(Napi::Env env, const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsObject()) throw Napi::TypeError::New(env, std::string("setSregs: ") + key + " must be an object");
  return v.As<Napi::Object>();
}

// Owns the scratch engine and its context for the duration of one setSregs.
struct Scratch {
  uc_engine* uc = nullptr;
  uc_context* context = nullptr;
  ~Scratch() {
    if (context) uc_context_free(context);
    if (uc) uc_close(uc);
  }
};

}  // namespace

void EmulatedCpu::SetSregs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureUsable(env, "setSregs");
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "setSregs(state)");
  Napi::Object state = info[0].As<Napi::Object>();
  const uint64_t cr0 = U64(env, state, "cr0"), cr3 = U64(env, state, "cr3"), cr4 = U64(env, state, "cr4");
  const uint64_t efer = U64(env, state, "efer");
  Napi::Object gdt = Sub(env, state, "gdt"), idt = Sub(env, state, "idt");
  const uint64_t gdtBase = U64(env, gdt, "base"), gdtLimit = U64(env, gdt, "limit");
  const uint64_t idtBase = U64(env, idt, "base"), idtLimit = U64(env, idt, "limit");
  const char* segNames[] = {"es", "ds", "fs", "gs", "ss", "cs"};  // CS last: its load settles CPL and code size
  const int segRegs[] = {UC_X86_REG_ES, UC_X86_REG_DS, UC_X86_REG_FS, UC_X86_REG_GS, UC_X86_REG_SS, UC_X86_REG_CS};
  uint16_t selectors[6];
  for (int i = 0; i < 6; i++) selectors[i] = static_cast<uint16_t>(U64(env, Sub(env, state, segNames[i]), "selector"));

  const bool longMode = (efer & kEferLme) && (cr0 & kCr0Pg);
  if (longMode && (!(cr4 & kCr4Pae) || !(cr0 & kCr0Pe)))
    throw Napi::Error::New(env, "setSregs: long mode needs CR0.PE and CR4.PAE");
  if ((efer & kEferLma) && !longMode) throw Napi::Error::New(env, "setSregs: EFER.LMA without EFER.LME and CR0.PG");
  if (cr3 >= kFourGiB) throw Napi::Error::New(env, "setSregs: Unicorn 2.0.1 keeps only 32 bits of CR3");
  if (gdtLimit > 0xffff || idtLimit > 0xffff) throw Napi::Error::New(env, "setSregs: descriptor table limit > 0xffff");
  if (cr0 & kCr0Pe) {
    uint16_t highest = 0;
    for (uint16_t s : selectors) highest = std::max<uint16_t>(highest, s & kSelectorIndexMask);
    if (highest != 0 && (gdtBase + gdtLimit >= kFourGiB || !InRam(gdtBase, gdtLimit + 1)))
      throw Napi::Error::New(env, "setSregs: the GDT must lie in guest RAM below 4 GiB");
  }

  uint64_t regs[18];
  uint16_t fpuControl = 0;
  uint32_t mxcsr = 0;
  ReadGeneralRegs(regs);
  uc_reg_read(uc_, UC_X86_REG_FPCW, &fpuControl);
  uc_reg_read(uc_, UC_X86_REG_MXCSR, &mxcsr);

  Scratch scratch;
  uc_err err = uc_open(UC_ARCH_X86, UC_MODE_32, &scratch.uc);
  if (err != UC_ERR_OK) ThrowUc(env, "setSregs: scratch uc_open", err);
  for (const auto& r : ram_) {
    err = uc_mem_map_ptr(scratch.uc, r.gpa, r.mapping->sizeBytes, UC_PROT_ALL, r.mapping->ram);
    if (err != UC_ERR_OK) ThrowUc(env, "setSregs: scratch map", err);
  }
  if (longMode && (err = uc_context_restore(scratch.uc, resetContext_)) != UC_ERR_OK)
    ThrowUc(env, "setSregs: seed long mode", err);

  uc_x86_mmr gdtr = {0, gdtBase, static_cast<uint32_t>(gdtLimit), 0};
  uc_x86_mmr idtr = {0, idtBase, static_cast<uint32_t>(idtLimit), 0};
  uint32_t cr0NoPaging = static_cast<uint32_t>(cr0 & ~kCr0Pg), cr0Full = static_cast<uint32_t>(cr0);
  uint32_t cr3Low = static_cast<uint32_t>(cr3), cr4Low = static_cast<uint32_t>(cr4);
  if ((err = uc_reg_write(scratch.uc, UC_X86_REG_GDTR, &gdtr)) != UC_ERR_OK ||
      (err = uc_reg_write(scratch.uc, UC_X86_REG_CR0, &cr0NoPaging)) != UC_ERR_OK)
    ThrowUc(env, "setSregs: GDTR/CR0", err);
  for (int i = 0; i < 6; i++) {
    if ((err = uc_reg_write(scratch.uc, segRegs[i], &selectors[i])) != UC_ERR_OK)
      ThrowUc(env, (std::string("setSregs: load ") + segNames[i] + " selector " + std::to_string(selectors[i])).c_str(),
              err);
  }
  if ((err = uc_reg_write(scratch.uc, UC_X86_REG_CR4, &cr4Low)) != UC_ERR_OK ||
      (err = uc_reg_write(scratch.uc, UC_X86_REG_CR3, &cr3Low)) != UC_ERR_OK ||
      (err = uc_reg_write(scratch.uc, UC_X86_REG_CR0, &cr0Full)) != UC_ERR_OK)
    ThrowUc(env, "setSregs: CR4/CR3/CR0", err);
  if ((err = uc_context_alloc(scratch.uc, &scratch.context)) != UC_ERR_OK ||
      (err = uc_context_save(scratch.uc, scratch.context)) != UC_ERR_OK ||
      (err = uc_context_restore(uc_, scratch.context)) != UC_ERR_OK)
    ThrowUc(env, "setSregs: transfer context", err);

  WriteGeneralRegs(regs);
  uc_reg_write(uc_, UC_X86_REG_FPCW, &fpuControl);
  uc_reg_write(uc_, UC_X86_REG_MXCSR, &mxcsr);
  uc_reg_write(uc_, UC_X86_REG_GDTR, &gdtr);
  uc_reg_write(uc_, UC_X86_REG_IDTR, &idtr);
  uc_x86_msr eferMsr = {kMsrEfer, efer & ~kEferLma};
  uc_reg_write(uc_, UC_X86_REG_MSR, &eferMsr);
  Napi::Value trValue = state.Get("tr");
  if (trValue.IsObject()) {
    Napi::Object tr = trValue.As<Napi::Object>();
    uint32_t flags = static_cast<uint32_t>(U64(env, tr, "type") << kDescTypeShift | U64(env, tr, "s") << kDescSShift |
                                           U64(env, tr, "dpl") << kDescDplShift |
                                           U64(env, tr, "present") << kDescPShift | U64(env, tr, "l") << kDescLShift |
                                           U64(env, tr, "db") << kDescDbShift | U64(env, tr, "g") << kDescGShift);
    uc_x86_mmr trr = {static_cast<uint16_t>(U64(env, tr, "selector")), U64(env, tr, "base"),
                      static_cast<uint32_t>(U64(env, tr, "limit")), flags};
    uc_reg_write(uc_, UC_X86_REG_TR, &trr);
  }
  if (longMode) {  // long mode takes FS/GS bases from the state (MSR-style), not from the 32-bit descriptors
    uint64_t fsBase = U64(env, Sub(env, state, "fs"), "base"), gsBase = U64(env, Sub(env, state, "gs"), "base");
    uc_reg_write(uc_, UC_X86_REG_FS_BASE, &fsBase);
    uc_reg_write(uc_, UC_X86_REG_GS_BASE, &gsBase);
  }
  // The restore copied CPU state under a TLB filled by the old state: toggling CR4.PGE asks for a flush (moot in
  // 2.0.1, which accesses mapped memory by virtual address, but right for any Unicorn that honours page tables).
  uint64_t cr4Now = 0;
  uc_reg_read(uc_, UC_X86_REG_CR4, &cr4Now);
  uint64_t cr4Toggled = cr4Now ^ kCr4Pge;
  uc_reg_write(uc_, UC_X86_REG_CR4, &cr4Toggled);
  uc_reg_write(uc_, UC_X86_REG_CR4, &cr4Now);
}

}  // namespace hv
