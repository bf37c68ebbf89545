/** libvirt's scaledInteger units (basictypes.rng `unit`): powers of 1000 and of 1024, case as libvirt accepts them. */
const UNITS: Readonly<Record<string, number>> = {
  b: 1, bytes: 1,
  kb: 1e3, k: 1024, kib: 1024,
  mb: 1e6, m: 1024 ** 2, mib: 1024 ** 2,
  gb: 1e9, g: 1024 ** 3, gib: 1024 ** 3,
  tb: 1e12, t: 1024 ** 4, tib: 1024 ** 4,
};

/** Bytes of a libvirt size ("1048576" with unit "KiB"; no unit → `defaultUnit`), or why not. */
export function scaledBytes(text: string, unit: string | undefined, defaultUnit = 'KiB'): number | string {
  const scale = UNITS[(unit ?? defaultUnit).toLowerCase()];
  if (scale === undefined) return `unknown unit "${unit}" (b, KiB, MiB, GiB, TiB, KB, MB, GB, TB)`;
  if (!/^\d+$/.test(text)) return `"${text}" is not a whole number`;
  const bytes = Number(text) * scale;
  if (!Number.isSafeInteger(bytes)) return `${text} ${unit ?? defaultUnit} is too large`;
  return bytes;
}
