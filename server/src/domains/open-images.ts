import * as fs from 'node:fs';
import type { DomainSpec } from '../../../gen/hypervisor/v1/domain';
import { failedPrecondition } from '../errors';

/** hvd's open file descriptors of a domain's images, for an engine about to start (closed by close()). */
export interface OpenImages {
  kernel: number;
  initrd?: number;
  /** By device id. */
  disks: Record<string, number>;
  close(): void;
}

/** Opens a file and checks what it opened (ImageRoots.open): the fd, or throws with why not. */
export type OpenImage = (file: string, readOnly: boolean) => number;

/**
 * Opens the kernel, initrd and disks of a spec for its engine, at start time: the paths were checked when the spec
 * was accepted, but files can change since; what is opened now is checked again and handed over as fds, so the
 * engine never opens a path. A file that no longer passes is FAILED_PRECONDITION naming its field.
 */
export function openImages(spec: DomainSpec, domainName: string, open: OpenImage): OpenImages {
  const fds: number[] = [];
  const take = (field: string, file: string, readOnly: boolean) => {
    try {
      const fd = open(file, readOnly);
      fds.push(fd);
      return fd;
    } catch (err) {
      throw failedPrecondition(`domain "${domainName}" cannot start: ${field}: ${(err as Error).message}`);
    }
  };
  const close = () => fds.splice(0).forEach((fd) => fs.closeSync(fd));
  try {
    const boot = spec.boot!;
    const kernel = take('spec.boot.kernel_path', boot.kernelPath, true);
    const initrd = boot.initrdPath !== '' ? take('spec.boot.initrd_path', boot.initrdPath, true) : undefined;
    const disks: Record<string, number> = {};
    spec.devices.forEach((device, i) => {
      if (device.kind?.$case === 'disk') disks[device.id] = take(`spec.devices[${i}].disk.path`, device.kind.value.path, device.kind.value.readOnly);
    });
    return { kernel, initrd, disks, close };
  } catch (err) {
    close();
    throw err;
  }
}
