# The AddressSanitizer (+ UBSan) build of hv_native: the same target as ../binding.gyp, built here so node-gyp's
# fixed "build" directory (asan/build) keeps it apart from the production addon. Test-only probes are compiled in
# (HV_TEST_PROBES): never in the production build. Built by engine/native/build-asan.sh; loaded when the engine
# runs with HV_NATIVE_BUILD=asan (engine/src/native/addon.ts).
{
  "includes": ["../binding.gyp"],
  "target_defaults": {
    "sources": ["../src/test-probes.cc"],
    "defines": ["HV_TEST_PROBES"],
    "cflags": ["-fsanitize=address,undefined", "-fno-sanitize=vptr", "-fno-omit-frame-pointer", "-g"],
    "ldflags": ["-fsanitize=address,undefined"]
  }
}
