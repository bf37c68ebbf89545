#include "kvm-vm.h"

#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "kvm-errno.h"
#include "kvm-layout.h"
#include "kvm.h"

namespace hv {
namespace {

// Marks JS objects made by this class, so VcpuFd can accept only a real VmFd.
constexpr napi_type_tag kVmFdTag = {0x68765f6b766d0002ULL, 0x9d3c5b1e2a7f4c02ULL};
// Most GSI routes KVM accepts (KVM_MAX_IRQ_ROUTES).
constexpr uint32_t kMaxIrqRoutes = 4096;

}  // namespace

Napi::Function VmFd::Init(Napi::Env env) {
  return DefineClass(env, "VmFd",
                     {
                         InstanceMethod<&VmFd::SetUserMemoryRegion>("setUserMemoryRegion"),
                         InstanceMethod<&VmFd::CreateIrqchip>("createIrqchip"),
                         InstanceMethod<&VmFd::CreatePit2>("createPit2"),
                         InstanceMethod<&VmFd::SetTssAddr>("setTssAddr"),
                         InstanceMethod<&VmFd::SetIdentityMapAddr>("setIdentityMapAddr"),
                         InstanceMethod<&VmFd::Ioeventfd>("ioeventfd"),
                         InstanceMethod<&VmFd::Irqfd>("irqfd"),
                         InstanceMethod<&VmFd::SetGsiRouting>("setGsiRouting"),
                         InstanceMethod<&VmFd::IrqLine>("irqLine"),
                         InstanceMethod<&VmFd::Close>("close"),
                     });
}

VmFd* VmFd::FromValue(Napi::Env env, Napi::Value value) {
  if (!value.IsObject() || !value.As<Napi::Object>().CheckTypeTag(&kVmFdTag))
    throw Napi::TypeError::New(env, "expected a VmFd");
  return Unwrap(value.As<Napi::Object>());
}

VmFd::VmFd(const Napi::CallbackInfo& info) : Napi::ObjectWrap<VmFd>(info) {
  Napi::Env env = info.Env();
  Kvm* kvm = Kvm::FromValue(env, info.Length() > 0 ? info[0] : env.Undefined());
  vcpuMmapSize_ = kvm->Ioctl(env, KVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE");
  if (static_cast<size_t>(vcpuMmapSize_) < sizeof(kvm_run))
    throw Napi::Error::New(env, "KVM_GET_VCPU_MMAP_SIZE is smaller than struct kvm_run");
  fd_ = kvm->Ioctl(env, KVM_CREATE_VM, 0, "KVM_CREATE_VM");
  info.This().As<Napi::Object>().TypeTag(&kVmFdTag);
}

VmFd::~VmFd() {
  if (fd_ >= 0) ::close(fd_);
}

int VmFd::Ioctl(Napi::Env env, unsigned long request, const void* arg, const char* what) {
  if (fd_ < 0) throw Napi::Error::New(env, std::string(what) + ": VmFd is closed");
  int r = ioctl(fd_, request, arg);
  if (r < 0) throw ErrnoError(env, what, errno);
  return r;
}

// setUserMemoryRegion(slot, flags, gpa, memory | null): maps a whole GuestMemory at gpa; null deletes the slot.
void VmFd::SetUserMemoryRegion(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  kvm_userspace_memory_region region{};
  region.slot = U32Arg(info, 0, "slot");
  region.flags = U32Arg(info, 1, "flags");
  region.guest_phys_addr = U64Arg(info, 2, "gpa");
  std::shared_ptr<HostMapping> mapping;
  if (info.Length() > 3 && !info[3].IsNull()) {
    if (!GuestMemory::IsInstance(env, info[3])) throw Napi::TypeError::New(env, "memory must be a GuestMemory or null");
    mapping = GuestMemory::Unwrap(info[3].As<Napi::Object>())->mapping();
    region.memory_size = mapping->sizeBytes;
    region.userspace_addr = reinterpret_cast<uint64_t>(mapping->ram);
  }
  Ioctl(env, KVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION");
  if (mapping) (*slots_)[region.slot] = mapping;
  else slots_->erase(region.slot);
}

void VmFd::CreateIrqchip(const Napi::CallbackInfo& info) {
  Ioctl(info.Env(), KVM_CREATE_IRQCHIP, nullptr, "KVM_CREATE_IRQCHIP");
}

// createPit2(flags): the in-kernel i8254 (KVM_PIT_SPEAKER_DUMMY lets port 0x61 reads work without a speaker).
void VmFd::CreatePit2(const Napi::CallbackInfo& info) {
  kvm_pit_config config{};
  config.flags = U32Arg(info, 0, "flags");
  Ioctl(info.Env(), KVM_CREATE_PIT2, &config, "KVM_CREATE_PIT2");
}

// setTssAddr(gpa): three pages below 4 GiB, outside RAM and MMIO, that VMX uses for real-mode emulation.
void VmFd::SetTssAddr(const Napi::CallbackInfo& info) {
  uint64_t gpa = U64Arg(info, 0, "gpa");
  if (fd_ < 0) throw Napi::Error::New(info.Env(), "KVM_SET_TSS_ADDR: VmFd is closed");
  // This ioctl takes the address by value, not through a pointer.
  if (ioctl(fd_, KVM_SET_TSS_ADDR, static_cast<unsigned long>(gpa)) < 0) throw ErrnoError(info.Env(), "KVM_SET_TSS_ADDR", errno);
}

// setIdentityMapAddr(gpa): one page for the identity page table VMX needs without unrestricted guest.
void VmFd::SetIdentityMapAddr(const Napi::CallbackInfo& info) {
  uint64_t gpa = U64Arg(info, 0, "gpa");
  Ioctl(info.Env(), KVM_SET_IDENTITY_MAP_ADDR, &gpa, "KVM_SET_IDENTITY_MAP_ADDR");
}

// ioeventfd(fd, addr, len, flags, datamatch): a guest write to addr signals fd inside the kernel (no exit).
void VmFd::Ioeventfd(const Napi::CallbackInfo& info) {
  kvm_ioeventfd event{};
  event.fd = static_cast<int32_t>(U32Arg(info, 0, "fd"));
  event.addr = U64Arg(info, 1, "addr");
  event.len = U32Arg(info, 2, "len");
  event.flags = U32Arg(info, 3, "flags");
  event.datamatch = info.Length() > 4 ? U64Arg(info, 4, "datamatch") : 0;
  Ioctl(info.Env(), KVM_IOEVENTFD, &event, "KVM_IOEVENTFD");
}

// irqfd(fd, gsi, flags): a write to fd raises gsi (through the GSI routing table) inside the kernel.
void VmFd::Irqfd(const Napi::CallbackInfo& info) {
  kvm_irqfd irqfd{};
  irqfd.fd = U32Arg(info, 0, "fd");
  irqfd.gsi = U32Arg(info, 1, "gsi");
  irqfd.flags = U32Arg(info, 2, "flags");
  Ioctl(info.Env(), KVM_IRQFD, &irqfd, "KVM_IRQFD");
}

// setGsiRouting(entries): replaces the whole routing table with kvm_irq_routing_entry bytes (48 each).
void VmFd::SetGsiRouting(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = 0;
  const uint8_t* bytes = BytesArg(info, 0, 0, "entries", &length);
  if (length % sizeof(kvm_irq_routing_entry) != 0)
    throw Napi::RangeError::New(env, "entries must be a whole number of 48-byte kvm_irq_routing_entry");
  size_t count = length / sizeof(kvm_irq_routing_entry);
  if (count > kMaxIrqRoutes) throw Napi::RangeError::New(env, "more than 4096 GSI routes");
  KernelArray routing(kKvmIrqRoutingEntries, static_cast<uint32_t>(count), length);
  memcpy(routing.array(), bytes, length);
  Ioctl(env, KVM_SET_GSI_ROUTING, routing.header(), "KVM_SET_GSI_ROUTING");
}

// irqLine(irq, level): drives a legacy interrupt line of the in-kernel PIC/IOAPIC.
void VmFd::IrqLine(const Napi::CallbackInfo& info) {
  kvm_irq_level level{};
  level.irq = U32Arg(info, 0, "irq");
  level.level = U32Arg(info, 1, "level");
  Ioctl(info.Env(), KVM_IRQ_LINE, &level, "KVM_IRQ_LINE");
}

void VmFd::Close(const Napi::CallbackInfo&) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  slots_ = std::make_shared<Slots>();  // vCPUs still open keep their share of the old table
}

}  // namespace hv
