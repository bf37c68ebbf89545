/**
 * The kernel's "cpulist" format (Documentation/admin-guide/cgroup-v1/cpusets.rst, bitmap_parselist):
 * comma-separated decimal ids and inclusive ranges, e.g. "0-3,8,10-11"; an empty string is the empty set.
 * Used by /sys/devices/system/cpu/online, node*\/cpulist and topology/thread_siblings_list.
 */
export function parseCpuList(text: string): number[] {
  const ids: number[] = [];
  const trimmed = text.trim();
  if (trimmed === '') return ids;
  for (const part of trimmed.split(',')) {
    // "a" or "a-b" (the parser also takes strided "a-b:used/group", which sysfs never prints).
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!match) throw new Error(`malformed cpu list "${text.trim()}"`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first) throw new Error(`malformed cpu list "${text.trim()}": range ${part} is reversed`);
    for (let id = first; id <= last; id++) ids.push(id);
  }
  return ids.sort((a, b) => a - b);
}
