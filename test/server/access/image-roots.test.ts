import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageRoots } from '../../../server/src/access';

let dir: string;
let roots: ImageRoots;
const isRoot = process.getuid?.() === 0;

beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hv-roots-')));
  fs.mkdirSync(path.join(dir, 'images/sub'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'elsewhere'));
  fs.writeFileSync(path.join(dir, 'images/kernel.elf'), 'k');
  fs.writeFileSync(path.join(dir, 'images/sub/initrd.img'), 'i');
  fs.writeFileSync(path.join(dir, 'elsewhere/secret'), 's');
  fs.symlinkSync('kernel.elf', path.join(dir, 'images/link-inside'));
  fs.symlinkSync(path.join(dir, 'elsewhere/secret'), path.join(dir, 'images/link-outside'));
  fs.symlinkSync('/etc', path.join(dir, 'images/etc'));
  fs.symlinkSync('/dev/null', path.join(dir, 'images/null'));
  execFileSync('mkfifo', [path.join(dir, 'images/fifo')]);
  fs.symlinkSync(path.join(dir, 'images'), path.join(dir, 'root-link'));
  roots = new ImageRoots([path.join(dir, 'images')]);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('ImageRoots with a root', () => {
  it('accepts regular files inside the root, also through symlinks that stay inside', () => {
    expect(roots.check(path.join(dir, 'images/kernel.elf'))).toBeUndefined();
    expect(roots.check(path.join(dir, 'images/sub/initrd.img'))).toBeUndefined();
    expect(roots.check(path.join(dir, 'images/link-inside'))).toBeUndefined();
    expect(roots.check(path.join(dir, 'root-link/kernel.elf'))).toBeUndefined();
  });

  it('refuses relative paths and ".." segments, even ones that would land inside', () => {
    expect(roots.check('images/kernel.elf')).toMatch(/must be an absolute path/);
    expect(roots.check(path.join(dir, 'images/sub') + '/../kernel.elf')).toMatch(/must not contain "\.\." segments/);
  });

  it('refuses files outside the roots, and symlinks escaping them, saying where they lead', () => {
    expect(roots.check(path.join(dir, 'elsewhere/secret'))).toMatch(/is outside the image roots/);
    expect(roots.check(path.join(dir, 'images/link-outside'))).toBe(
      `"${dir}/images/link-outside" resolves to "${dir}/elsewhere/secret", which is outside the image roots (${dir}/images)`,
    );
    expect(roots.check(path.join(dir, 'images/etc/passwd'))).toMatch(/resolves to "\/etc\/passwd", which is outside/);
    expect(roots.check('/etc/passwd')).toMatch(/outside the image roots/);
  });

  it('refuses missing files, directories, FIFOs', () => {
    expect(roots.check(path.join(dir, 'images/missing'))).toMatch(/does not exist/);
    expect(roots.check(path.join(dir, 'images/sub'))).toMatch(/not a regular file \(a directory\)/);
    expect(roots.check(path.join(dir, 'images/fifo'))).toMatch(/not a regular file \(a FIFO\)/);
  });

  it.runIf(isRoot)('refuses files owned by another non-root user', () => {
    const file = path.join(dir, 'images/someone-elses');
    fs.writeFileSync(file, 'x');
    fs.chownSync(file, 4321, 4321);
    expect(roots.check(file)).toBe(`"${file}" is owned by uid 4321; images must belong to root or to hvd's user (uid 0)`);
  });

  it.runIf(isRoot)('refuses a device node inside the root', () => {
    const node = path.join(dir, 'images/zero');
    execFileSync('mknod', [node, 'c', '1', '5']);
    expect(roots.check(node)).toBe(`"${node}" is a device node, not an image file`);
  });

  it('refuses a root that does not exist or is not a directory', () => {
    expect(() => new ImageRoots([path.join(dir, 'nope')])).toThrow(/--image-root .*nope: ENOENT/);
    expect(() => new ImageRoots([path.join(dir, 'images/kernel.elf')])).toThrow(/not a directory/);
    expect(() => new ImageRoots(['relative'])).toThrow(/must be an absolute path/);
  });
});

describe('ImageRoots without roots', () => {
  const open = new ImageRoots([]);
  it('confines nothing but still refuses device nodes, non-regular files, relative paths and ".."', () => {
    expect(open.check(path.join(dir, 'elsewhere/secret'))).toBeUndefined();
    expect(open.check('/dev/null')).toMatch(/is a device node/);
    expect(open.check(path.join(dir, 'images/null'))).toMatch(/is a device node/);
    expect(open.check(path.join(dir, 'images'))).toMatch(/a directory/);
    expect(open.check('x/y')).toMatch(/absolute/);
    expect(open.check('/tmp/../etc/passwd')).toMatch(/"\.\."/);
  });
});

describe('ImageRoots.open', () => {
  it('opens a file inside the root and returns its fd, read-only or read-write as asked', () => {
    const fd = roots.open(path.join(dir, 'images/link-inside'), true);
    try {
      expect(fs.readlinkSync(`/proc/self/fd/${fd}`)).toBe(path.join(dir, 'images/kernel.elf'));
      expect(() => fs.writeSync(fd, 'x')).toThrow(/EBADF/);
    } finally {
      fs.closeSync(fd);
    }
    const rw = roots.open(path.join(dir, 'images/kernel.elf'), false);
    fs.closeSync(rw);
  });

  it('checks what it opened: a symlink out of the root, a device node, a FIFO (without blocking) are refused', () => {
    expect(() => roots.open(path.join(dir, 'images/link-outside'), true)).toThrow(/resolves to ".*elsewhere\/secret", which is outside the image roots/);
    const open = new ImageRoots([]);
    expect(() => open.open(path.join(dir, 'images/null'), true)).toThrow(/device node/);
    expect(() => open.open(path.join(dir, 'images/fifo'), true)).toThrow(/not a regular file \(a FIFO\)/);
    expect(() => roots.open('images/kernel.elf', true)).toThrow(/absolute path/);
  });
});
