#include "kvm.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace hv {
namespace {

constexpr const char* kDefaultDevice = "/dev/kvm";

Napi::Error ErrnoError(Napi::Env env, const std::string& what, int err) {
  Napi::Error e = Napi::Error::New(env, what + ": " + strerror(err));
  const char* name = strerrorname_np(err);
  e.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
  e.Set("errno", Napi::Number::New(env, err));
  return e;
}

}  // namespace

Napi::Function Kvm::Init(Napi::Env env) {
  return DefineClass(env, "Kvm",
                     {
                         InstanceMethod<&Kvm::ApiVersion>("apiVersion"),
                         InstanceMethod<&Kvm::CheckExtension>("checkExtension"),
                         InstanceMethod<&Kvm::Close>("close"),
                     });
}

Napi::Object Kvm::Constants(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
#define HV_EXPORT_CONSTANT(name) o.Set(#name, Napi::Number::New(env, name))
  HV_EXPORT_CONSTANT(KVM_API_VERSION);
  HV_EXPORT_CONSTANT(KVM_CAP_IRQCHIP);
  HV_EXPORT_CONSTANT(KVM_CAP_USER_MEMORY);
  HV_EXPORT_CONSTANT(KVM_CAP_SET_TSS_ADDR);
  HV_EXPORT_CONSTANT(KVM_CAP_EXT_CPUID);
  HV_EXPORT_CONSTANT(KVM_CAP_IOEVENTFD);
  HV_EXPORT_CONSTANT(KVM_CAP_IRQFD);
  HV_EXPORT_CONSTANT(KVM_CAP_PIT2);
  HV_EXPORT_CONSTANT(KVM_CAP_IRQ_ROUTING);
  HV_EXPORT_CONSTANT(KVM_CAP_SET_IDENTITY_MAP_ADDR);
  HV_EXPORT_CONSTANT(KVM_CAP_IMMEDIATE_EXIT);
  HV_EXPORT_CONSTANT(KVM_CAP_NR_VCPUS);
  HV_EXPORT_CONSTANT(KVM_CAP_MAX_VCPUS);
#undef HV_EXPORT_CONSTANT
  return o;
}

Kvm::Kvm(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Kvm>(info) {
  std::string path = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : kDefaultDevice;
  fd_ = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) throw ErrnoError(info.Env(), "open " + path, errno);
}

Kvm::~Kvm() {
  if (fd_ >= 0) ::close(fd_);
}

int Kvm::Ioctl(Napi::Env env, unsigned long request, unsigned long arg, const char* what) {
  if (fd_ < 0) throw Napi::Error::New(env, std::string(what) + ": Kvm is closed");
  int r = ioctl(fd_, request, arg);
  if (r < 0) throw ErrnoError(env, what, errno);
  return r;
}

Napi::Value Kvm::ApiVersion(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), Ioctl(info.Env(), KVM_GET_API_VERSION, 0, "KVM_GET_API_VERSION"));
}

Napi::Value Kvm::CheckExtension(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "checkExtension(cap: number)");
  unsigned long cap = info[0].As<Napi::Number>().Uint32Value();
  return Napi::Number::New(info.Env(), Ioctl(info.Env(), KVM_CHECK_EXTENSION, cap, "KVM_CHECK_EXTENSION"));
}

void Kvm::Close(const Napi::CallbackInfo&) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace hv
