#include "tap.h"

#include <fcntl.h>
#include <net/if.h>  // before linux/if_tun.h: glibc's struct ifreq, not the kernel header's
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kvm-errno.h"

namespace hv {
namespace {

// Largest frame read: 64 KiB plus an Ethernet header (a tap's MTU can be raised to 65535).
constexpr size_t kMaxFrame = 65536 + 14;
// Frames read per readiness callback, so a flooding peer cannot hold the loop thread; the poll is level-
// triggered, so what is left is read on the next loop turn.
constexpr int kFramesPerWake = 64;

}  // namespace

Napi::Function Tap::Init(Napi::Env env) {
  return DefineClass(env, "Tap",
                     {
                         InstanceAccessor<&Tap::Name>("name"),
                         InstanceMethod<&Tap::Write>("write"),
                         InstanceMethod<&Tap::Close>("close"),
                     });
}

// No IFF_VNET_HDR: the device offers no checksum or segmentation offloads, so the virtio-net header carries
// nothing, and a guest-written header must never reach the kernel as offload requests it did not negotiate.
Tap::Tap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Tap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsFunction())
    throw Napi::TypeError::New(env, "new Tap(name: string, onFrame: function)");
  name_ = info[0].As<Napi::String>().Utf8Value();
  if (name_.empty() || name_.size() >= IFNAMSIZ) throw Napi::RangeError::New(env, "tap name must be 1-15 bytes");
  // TUNSETIFF creates a missing interface: look first, and compare after, so only an existing tap is used.
  unsigned int index = if_nametoindex(name_.c_str());
  if (index == 0) throw ErrnoError(env, "tap " + name_, ENODEV);
  int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw ErrnoError(env, "open /dev/net/tun", errno);
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::memcpy(ifr.ifr_name, name_.c_str(), name_.size());
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    ::close(fd);
    throw ErrnoError(env, "TUNSETIFF " + name_, err);
  }
  if (if_nametoindex(name_.c_str()) != index) {
    ::close(fd);  // the tap vanished and TUNSETIFF made a new one, which closing removes again
    throw ErrnoError(env, "tap " + name_, ENODEV);
  }
  fd_ = fd;
  frame_.resize(kMaxFrame);
  onFrame_ = Napi::Persistent(info[1].As<Napi::Function>());
  context_ = new Napi::AsyncContext(env, "hv.Tap");
  // Frames are read on the loop thread when libuv's poll says the fd is readable: never a blocking read.
  poll_ = std::make_unique<FdPoll>(env, fd_, [this](int status) { OnReadable(status); });
}

Tap::~Tap() {
  Shutdown();
  delete context_;
}

Napi::Value Tap::Name(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }

// write(frame): one whole Ethernet frame; 0, or the errno when the kernel refused it (EAGAIN: queue full).
Napi::Value Tap::Write(const Napi::CallbackInfo& info) {
  size_t length = 0;
  uint8_t* data = BytesArg(info, 0, 0, "frame", &length);
  if (fd_ < 0) return Napi::Number::New(info.Env(), EBADF);
  ssize_t n = ::write(fd_, data, length);
  return Napi::Number::New(info.Env(), n < 0 ? errno : 0);
}

void Tap::Close(const Napi::CallbackInfo&) { Shutdown(); }

void Tap::Shutdown() {
  poll_.reset();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void Tap::OnReadable(int status) {
  Napi::HandleScope scope(Env());
  if (status < 0) {
    Napi::Error e = Napi::Error::New(Env(), "tap " + name_ + ": poll failed: " + uv_strerror(status));
    Shutdown();
    Deliver(e.Value(), Env().Undefined());
    return;
  }
  ReadFrames();
}

void Tap::ReadFrames() {
  for (int i = 0; i < kFramesPerWake && fd_ >= 0; i++) {
    ssize_t n = ::read(fd_, frame_.data(), frame_.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      Napi::Error e = ErrnoError(Env(), "tap " + name_ + " read", errno);
      Shutdown();
      Deliver(e.Value(), Env().Undefined());
      return;
    }
    Napi::HandleScope scope(Env());
    Deliver(Env().Null(), Napi::Buffer<uint8_t>::Copy(Env(), frame_.data(), static_cast<size_t>(n)));
  }
}

// Calls onFrame as a top-level callback (microtasks run after it); a throw becomes an uncaught exception.
void Tap::Deliver(napi_value error, napi_value frame) {
  try {
    onFrame_.MakeCallback(Env().Global(), {error, frame}, *context_);
  } catch (const Napi::Error& e) {
    napi_fatal_exception(Env(), e.Value());
  }
}

}  // namespace hv
