import { stat, access, constants } from 'node:fs/promises';
import { BootFormat, type BootSpec } from '../../../gen/hypervisor/v1/domain';
import { BootSetupError, placeInitrd } from '../../../engine/src/boot';
import { isLoadedBzImage, loadKernelBytes, readKernelImage, LoaderError, type KernelFormat } from '../../../engine/src/loader';
import type { GuestMemoryWriter } from '../../../engine/src/memory/guest-memory-writer';
import { ramRegions } from '../../../engine/src/platform/layout';

/** A problem with a boot field other than boot.kernel_path (field named relative to the spec's boot). */
export interface BootFieldProblem {
  field: 'boot.initrd_path' | 'boot.cmdline';
  description: string;
}

/**
 * Runs the engine's own loader against a memory that only checks bounds, so a kernel that cannot boot is refused
 * before any engine process, socket or run directory exists. Returns why it cannot load (a string for the kernel,
 * a BootFieldProblem for the initrd or cmdline), or undefined.
 */
export async function checkKernel(boot: BootSpec, memoryBytes: number): Promise<string | BootFieldProblem | undefined> {
  const format: KernelFormat =
    boot.format === BootFormat.BOOT_FORMAT_RAW
      ? { kind: 'raw', loadAddress: boot.loadAddress, entry: boot.entryAddress }
      : { kind: boot.format === BootFormat.BOOT_FORMAT_LINUX ? 'linux' : 'auto' };
  const lowRamEnd = ramRegions(memoryBytes)[0].size;
  let kernel;
  try {
    const image = await readKernelImage(boot.kernelPath);
    kernel = loadKernelBytes(image, boundsOnlyMemory(lowRamEnd), format);
  } catch (err) {
    if (err instanceof LoaderError || err instanceof RangeError) return err.message;
    throw err;
  }
  if (!isLoadedBzImage(kernel)) {
    return boot.initrdPath !== '' ? { field: 'boot.initrd_path', description: 'only a Linux bzImage takes an initrd' } : undefined;
  }
  const header = kernel.linux.header;
  if (Buffer.byteLength(boot.cmdline) > header.cmdlineSize) {
    return { field: 'boot.cmdline', description: `longer than this kernel's cmdline_size of ${header.cmdlineSize} bytes` };
  }
  if (boot.initrdPath === '') return undefined;
  return checkInitrd(boot.initrdPath, { initEnd: kernel.linux.initEnd, initrdAddrMax: header.initrdAddrMax, lowRamEnd });
}

/** The initrd must be a readable regular file that fits where the Linux boot set-up would place it. */
async function checkInitrd(path: string, limits: Parameters<typeof placeInitrd>[1]): Promise<BootFieldProblem | undefined> {
  const problem = (description: string): BootFieldProblem => ({ field: 'boot.initrd_path', description });
  try {
    const stats = await stat(path);
    if (!stats.isFile()) return problem(`${path} is not a regular file`);
    await access(path, constants.R_OK);
    placeInitrd(stats.size, limits);
    return undefined;
  } catch (err) {
    if (err instanceof BootSetupError) return problem(err.message);
    return problem(`cannot read ${path}: ${(err as Error).message}`);
  }
}

function boundsOnlyMemory(size: number): GuestMemoryWriter {
  const check = (gpa: number, length: number) => {
    if (gpa < 0 || length < 0 || gpa + length > size) throw new RangeError(`write of ${length} bytes at ${gpa} is outside guest RAM`);
  };
  return { size, write: (gpa, bytes) => check(gpa, bytes.length), fill: (gpa, length) => check(gpa, length) };
}
