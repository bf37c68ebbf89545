/**
 * Raw flat binary loader: the image's bytes copied to a given guest physical address, entered at a given
 * address. Raw images carry no metadata, so both come from the domain's boot configuration.
 *
 * Steps: check the addresses are integers, the image is not empty, [loadAddress, loadAddress + length) lies in
 * guest RAM above the load minimum and the entry inside it; then copy.
 */
import type { GuestMemoryWriter } from '../memory/guest-memory-writer';
import { KERNEL_LOAD_MIN } from '../platform/layout';
import { checkFit } from './check-fit';
import type { LoadedKernel } from './loaded-kernel';
import { hex, LoaderError } from './loader-error';

export interface RawImagePlacement {
  /** Guest physical address of the image's first byte. */
  loadAddress: number;
  /** Guest physical address to start executing at, inside the image. */
  entry: number;
  /** Lowest guest physical address the image may occupy (default KERNEL_LOAD_MIN, 1 MiB). */
  minAddress?: number;
}

export function loadRaw(image: Uint8Array, memory: GuestMemoryWriter, placement: RawImagePlacement): LoadedKernel {
  const { loadAddress, entry } = placement;
  for (const [name, value] of [['load address', loadAddress], ['entry', entry]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new LoaderError('fit', `raw image ${name} ${value} is not a guest physical address`);
    }
  }
  if (image.length === 0) throw new LoaderError('format', 'raw kernel image is empty');
  checkFit('raw image', BigInt(loadAddress), BigInt(image.length), memory, placement.minAddress ?? KERNEL_LOAD_MIN);
  const end = loadAddress + image.length;
  if (entry < loadAddress || entry >= end) {
    throw new LoaderError('entry', `raw image entry ${hex(entry)} is outside the image at ${hex(loadAddress)}..${hex(end)}`);
  }
  memory.write(loadAddress, image);
  return { format: 'raw', entry, lowestAddress: loadAddress, highestAddress: end };
}
