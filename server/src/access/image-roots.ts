import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Where domain images (kernel, initrd, disks) may come from.
 *
 * Every image path hvd is given is checked before anything opens it:
 * 1. absolute, with no `..` segment;
 * 2. resolved with realpath: when image roots are configured, the real file must lie inside one of them — a symlink
 *    inside a root that points outside it is refused;
 * 3. the real file is a regular file (not a device node, directory, FIFO or socket);
 * 4. owned by root or by hvd's own user, never by another user (who could change it under a running guest).
 *
 * Without roots (no `--image-root`), step 2 confines nothing, as libvirt does not confine paths by itself; the
 * other checks still apply. With roots, hvd behaves like a storage-pool-only libvirt: images outside are refused.
 */
export class ImageRoots {
  /** The roots, resolved (a root given through a symlink is its target). */
  readonly roots: readonly string[];

  constructor(
    roots: readonly string[],
    /** Owners accepted besides root. */
    private readonly ownerUid = process.getuid?.() ?? 0,
  ) {
    this.roots = roots.map((root) => {
      if (!path.isAbsolute(root)) throw new Error(`--image-root ${root}: must be an absolute path`);
      let real: string;
      try {
        real = fs.realpathSync(root);
      } catch (err) {
        throw new Error(`--image-root ${root}: ${(err as Error).message}`);
      }
      if (!fs.statSync(real).isDirectory()) throw new Error(`--image-root ${root}: not a directory`);
      return real;
    });
  }

  /** Why this image path is refused (a description for the field's violation), or undefined when it may be used. */
  check(file: string): string | undefined {
    if (!path.isAbsolute(file)) return `"${file}" must be an absolute path`;
    if (file.split('/').includes('..')) return `"${file}" must not contain ".." segments`;
    let real: string;
    try {
      real = fs.realpathSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === 'ENOENT' ? `cannot open "${file}": it does not exist` : `cannot open "${file}": ${(err as Error).message}`;
    }
    if (this.roots.length > 0 && !this.roots.some((root) => isWithin(real, root))) {
      const what = real === path.resolve(file) ? `"${file}"` : `"${file}" resolves to "${real}", which`;
      return `${what} is outside the image roots (${this.roots.join(', ')})`;
    }
    const stat = fs.statSync(real);
    if (stat.isBlockDevice() || stat.isCharacterDevice()) return `"${file}" is a device node, not an image file`;
    if (!stat.isFile()) return `"${file}" is not a regular file (${kindOf(stat)})`;
    if (stat.uid !== 0 && stat.uid !== this.ownerUid) {
      return `"${file}" is owned by uid ${stat.uid}; images must belong to root or to hvd's user (uid ${this.ownerUid})`;
    }
    return undefined;
  }
}

function isWithin(file: string, root: string): boolean {
  return root === '/' || file === root || file.startsWith(root + path.sep);
}

function kindOf(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}
