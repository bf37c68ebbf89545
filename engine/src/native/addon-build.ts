/**
 * Which build of the addon an engine loads, from HV_NATIVE_BUILD: "release" (default, engine/native/build) or
 * "asan" (AddressSanitizer + UBSan with test probes, engine/native/asan/build; needs libasan preloaded, see
 * sanitizer-env.ts; hvd picks its engines' build with HV_ENGINE_BUILD). Apart from addon.ts so hvd can use it
 * without loading the addon.
 */
import * as path from 'node:path';

export const NATIVE_BUILDS = { release: 'build/Release', asan: 'asan/build/Release' } as const;
export type NativeBuild = keyof typeof NATIVE_BUILDS;

export function nativeBuildFrom(env: NodeJS.ProcessEnv): NativeBuild {
  const name = env.HV_NATIVE_BUILD || 'release';
  if (!Object.hasOwn(NATIVE_BUILDS, name)) throw new Error(`HV_NATIVE_BUILD=${name}: expected one of ${Object.keys(NATIVE_BUILDS).join(', ')}`);
  return name as NativeBuild;
}

/** Where the .node lives: running from source (engine/src/native) or compiled (dist/engine/src/native). */
export function addonCandidates(build: NativeBuild): string[] {
  return [
    path.join(__dirname, '../../native', NATIVE_BUILDS[build], 'hv_native.node'),
    path.join(__dirname, '../../../../engine/native', NATIVE_BUILDS[build], 'hv_native.node'),
  ];
}
