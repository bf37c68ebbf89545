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
 *
 * check() runs at request time; open() runs when an engine starts and checks the file it opened (its fd), so a
 * rename or a symlink swapped in between cannot hand the engine another file: the engine gets the fd, not the path.
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
    return this.problemWith(file, real, fs.statSync(real));
  }

  /**
   * Opens an image for an engine (read-write unless `readOnly`) and applies the checks to what was opened: its
   * real path from /proc/self/fd, its fstat. Returns the fd, which the caller closes; throws with why not.
   */
  open(file: string, readOnly: boolean): number {
    if (!path.isAbsolute(file) || file.split('/').includes('..')) throw new Error(`"${file}" must be an absolute path without ".." segments`);
    // O_NONBLOCK: a FIFO swapped in must not block hvd in open(); it is refused below as not a regular file.
    const flags = (readOnly ? fs.constants.O_RDONLY : fs.constants.O_RDWR) | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY;
    let fd: number;
    try {
      fd = fs.openSync(file, flags);
    } catch (err) {
      throw new Error(`cannot open "${file}": ${(err as Error).message}`);
    }
    try {
      const problem = this.problemWith(file, fs.readlinkSync(`/proc/self/fd/${fd}`), fs.fstatSync(fd));
      if (problem) throw new Error(problem);
      return fd;
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  /** Steps 2-4 for a file, its real path and its stat. */
  private problemWith(file: string, real: string, stat: fs.Stats): string | undefined {
    if (this.roots.length > 0 && !this.roots.some((root) => isWithin(real, root))) {
      const what = real === path.resolve(file) ? `"${file}"` : `"${file}" resolves to "${real}", which`;
      return `${what} is outside the image roots (${this.roots.join(', ')})`;
    }
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
