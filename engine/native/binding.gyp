{
  "targets": [
    {
      "target_name": "hv_native",
      "sources": [
        "src/addon.cc",
        "src/guest-memory.cc",
        "src/emulated-cpu.cc",
        "src/emulated-cpu-sregs.cc",
        "src/kvm.cc",
        "src/kvm-vm.cc",
        "src/kvm-vcpu.cc",
        "src/kvm-eventfd.cc",
        "src/kvm-layout.cc",
        "src/kvm-vcpu-thread.cc",
        "src/host-cpuid.cc",
        "src/tap.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lunicorn"]
    }
  ]
}
