const UNITS: Record<string, number> = { '': 1, K: 1 << 10, M: 1 << 20, G: 1 << 30, T: 2 ** 40 };

/** "64M", "1G", "4096" → bytes (binary units, as libvirt's KiB/MiB/GiB). */
export function parseBytes(text: string): number {
  const match = /^(\d+)\s*([KMGT]?)(i?B)?$/i.exec(text.trim());
  if (!match) throw new Error(`not a size: "${text}" (use e.g. 64M or 1G)`);
  return Number(match[1]) * UNITS[match[2].toUpperCase()];
}
