/**
 * The environment hvd gives an engine process. HV_ENGINE_BUILD in hvd's environment picks the addon build its
 * engines load ("release" by default, or "asan"; HV_NATIVE_BUILD is what each process loads itself, hvd included,
 * so hvd keeps the release addon). The sanitizer build links gcc's libasan, which must come first in the process
 * (Node itself is not instrumented): engines get LD_PRELOAD, and sanitizer defaults before the caller's own
 * ASAN_OPTIONS / UBSAN_OPTIONS (the later value of a flag wins, so a caller's ASan log_path=… is honoured).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nativeBuildFrom } from './addon-build';

/**
 * V8 keeps allocations until exit by design (no leak checks); any report kills the engine with SIGABRT; ASan
 * keeps SIGSEGV to itself (Node's own handler, for WebAssembly traps the engine never uses, would hide it), so a
 * guard-page hit is reported with its stack.
 */
export const ASAN_DEFAULTS = 'detect_leaks=0:abort_on_error=1:allow_user_segv_handler=0';
/** UBSan findings abort too; they go to the engine's stderr (with libasan loaded first, UBSan ignores log_path). */
export const UBSAN_DEFAULTS = 'halt_on_error=1:abort_on_error=1:print_stacktrace=1';

let libasan: string | undefined;

/** gcc's libasan.so, the runtime the sanitizer addon was linked against (engine/native/build-asan.sh uses gcc). */
export function libasanPath(): string {
  if (libasan === undefined) {
    const found = execFileSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim();
    // gcc prints the bare name back when it has no such file.
    if (!path.isAbsolute(found) || !fs.existsSync(found)) throw new Error(`gcc has no libasan.so (got "${found}"): install libasan8`);
    libasan = fs.realpathSync(found);
  }
  return libasan;
}

/** hvd's env for an engine: HV_NATIVE_BUILD from HV_ENGINE_BUILD, and for "asan" the preload and sanitizer options. */
export function engineEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const build = nativeBuildFrom({ HV_NATIVE_BUILD: env.HV_ENGINE_BUILD });
  if (build !== 'asan') return { ...env, HV_NATIVE_BUILD: build };
  const join = (first: string, rest: string | undefined) => (rest ? `${first}:${rest}` : first);
  return {
    ...env,
    HV_NATIVE_BUILD: build,
    LD_PRELOAD: join(libasanPath(), env.LD_PRELOAD),
    ASAN_OPTIONS: join(ASAN_DEFAULTS, env.ASAN_OPTIONS),
    UBSAN_OPTIONS: join(UBSAN_DEFAULTS, env.UBSAN_OPTIONS),
  };
}
