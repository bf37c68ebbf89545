import { BootFormat, type BootSpec } from '../../../gen/hypervisor/v1/domain';
import { loadKernelBytes, readKernelImage, LoaderError, type KernelFormat } from '../../../engine/src/loader';
import type { GuestMemoryWriter } from '../../../engine/src/memory/guest-memory-writer';
import { ramRegions } from '../../../engine/src/platform/layout';

/**
 * Runs the engine's own loader against a memory that only checks bounds, so a kernel that cannot boot is refused
 * before any engine process, socket or run directory exists. Returns why it cannot load, or undefined.
 */
export async function checkKernel(boot: BootSpec, memoryBytes: number): Promise<string | undefined> {
  const format: KernelFormat =
    boot.format === BootFormat.BOOT_FORMAT_RAW
      ? { kind: 'raw', loadAddress: boot.loadAddress, entry: boot.entryAddress }
      : { kind: 'auto' };
  if (boot.format === BootFormat.BOOT_FORMAT_LINUX) return 'Linux bzImage boot is not supported yet (issue 3)';
  try {
    const image = await readKernelImage(boot.kernelPath);
    loadKernelBytes(image, boundsOnlyMemory(ramRegions(memoryBytes)[0].size), format);
    return undefined;
  } catch (err) {
    if (err instanceof LoaderError || err instanceof RangeError) return err.message;
    throw err;
  }
}

function boundsOnlyMemory(size: number): GuestMemoryWriter {
  const check = (gpa: number, length: number) => {
    if (gpa < 0 || length < 0 || gpa + length > size) throw new RangeError(`write of ${length} bytes at ${gpa} is outside guest RAM`);
  };
  return { size, write: (gpa, bytes) => check(gpa, bytes.length), fill: (gpa, length) => check(gpa, length) };
}
