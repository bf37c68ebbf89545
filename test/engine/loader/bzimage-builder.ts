/**
 * Builds small synthetic bzImages (boot sector + setup sectors holding a setup header, then a protected-mode
 * kernel) for loader and boot tests. Every field can be overridden, so each broken-image case changes one thing.
 */
export interface BzImageOptions {
  /** setup_sects byte as written (0 means 4 to the loader). */
  setupSects?: number;
  bootFlag?: number;
  magic?: string;
  version?: number;
  /** The jump's displacement byte at 0x201: the header ends at 0x202 + this. */
  headerLength?: number;
  loadflags?: number;
  xloadflags?: number;
  relocatable?: boolean;
  kernelAlignment?: number;
  prefAddress?: bigint;
  initSize?: number;
  initrdAddrMax?: number;
  cmdlineSize?: number;
  /** The protected-mode kernel's bytes (default: 0x1000 bytes of a pattern). */
  kernel?: Uint8Array;
  /** syssize as written (default: the kernel's size in paragraphs, rounded up). */
  syssize?: number;
  /** Cut the finished image to this many bytes. */
  truncateTo?: number;
}

/** A recognisable kernel body: byte i is (i * 7 + 3) & 0xff. */
export function kernelPattern(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 7 + 3) & 0xff);
}

export function buildBzImage(options: BzImageOptions = {}): Uint8Array {
  const rawSects = options.setupSects ?? 1;
  const setupSize = ((rawSects === 0 ? 4 : rawSects) + 1) * 512;
  const kernel = options.kernel ?? kernelPattern(0x1000);
  const image = new Uint8Array(setupSize + kernel.length);
  const view = new DataView(image.buffer);
  image[0x1f1] = rawSects;
  view.setUint32(0x1f4, options.syssize ?? Math.ceil(kernel.length / 16), true);
  view.setUint16(0x1fa, 0xffff, true);
  view.setUint16(0x1fe, options.bootFlag ?? 0xaa55, true);
  image[0x200] = 0xeb;
  image[0x201] = options.headerLength ?? 0x6a;
  image.set(Buffer.from(options.magic ?? 'HdrS', 'latin1'), 0x202);
  view.setUint16(0x206, options.version ?? 0x020f, true);
  image[0x211] = options.loadflags ?? 0x01;
  view.setUint32(0x214, 0x100000, true);
  view.setUint32(0x22c, options.initrdAddrMax ?? 0x7fffffff, true);
  view.setUint32(0x230, options.kernelAlignment ?? 0x200000, true);
  image[0x234] = options.relocatable === false ? 0 : 1;
  view.setUint16(0x236, options.xloadflags ?? 0x01, true);
  view.setUint32(0x238, options.cmdlineSize ?? 0x7ff, true);
  view.setBigUint64(0x258, options.prefAddress ?? 0x1000000n, true);
  view.setUint32(0x260, options.initSize ?? 0x400000, true);
  image.set(kernel, setupSize);
  return options.truncateTo === undefined ? image : image.slice(0, options.truncateTo);
}
