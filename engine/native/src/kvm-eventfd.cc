#include "kvm-eventfd.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "kvm-errno.h"

namespace hv {

Napi::Function EventFd::Init(Napi::Env env) {
  return DefineClass(env, "EventFd",
                     {
                         InstanceAccessor<&EventFd::Fd>("fd"),
                         InstanceMethod<&EventFd::Read>("read"),
                         InstanceMethod<&EventFd::Write>("write"),
                         InstanceMethod<&EventFd::Watch>("watch"),
                         InstanceMethod<&EventFd::Close>("close"),
                     });
}

EventFd::EventFd(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EventFd>(info) {
  fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd_ < 0) throw ErrnoError(info.Env(), "eventfd", errno);
}

EventFd::~EventFd() {
  poll_.reset();
  if (fd_ >= 0) ::close(fd_);
}

Napi::Value EventFd::Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

// read(): the counter since the last read (resetting it), 0 when nothing was signalled.
Napi::Value EventFd::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0) throw Napi::Error::New(env, "eventfd read: closed");
  uint64_t value = 0;
  if (::read(fd_, &value, sizeof value) != static_cast<ssize_t>(sizeof value)) {
    if (errno == EAGAIN) return Napi::Number::New(env, 0);
    throw ErrnoError(env, "eventfd read", errno);
  }
  return Napi::Number::New(env, static_cast<double>(value));
}

// write(n): adds n (default 1) to the counter, as KVM does for an ioeventfd and as an irqfd expects.
void EventFd::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0) throw Napi::Error::New(env, "eventfd write: closed");
  uint64_t value = info.Length() > 0 ? U32Arg(info, 0, "value") : 1;
  if (::write(fd_, &value, sizeof value) != static_cast<ssize_t>(sizeof value)) throw ErrnoError(env, "eventfd write", errno);
}

void EventFd::Close(const Napi::CallbackInfo&) {
  poll_.reset();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

// watch(onSignal): once per EventFd.
void EventFd::Watch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "watch(onSignal: function)");
  if (fd_ < 0) throw Napi::Error::New(env, "eventfd watch: closed");
  if (poll_) throw Napi::Error::New(env, "eventfd watch: already watched");
  onSignal_ = Napi::Persistent(info[0].As<Napi::Function>());
  context_ = std::make_unique<Napi::AsyncContext>(env, "hv.EventFd");
  poll_ = std::make_unique<FdPoll>(env, fd_, [this](int status) { OnReadable(status); });
}

void EventFd::OnReadable(int status) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  uint64_t value = 0;
  if (status < 0 || ::read(fd_, &value, sizeof value) != static_cast<ssize_t>(sizeof value)) return;  // EAGAIN: raced
  try {
    onSignal_.MakeCallback(env.Global(), {Napi::Number::New(env, static_cast<double>(value))}, *context_);
  } catch (const Napi::Error& e) {
    napi_fatal_exception(env, e.Value());
  }
}

}  // namespace hv
