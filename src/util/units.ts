// Sizes as people type them ('64M', '1G', '1500') and as people read them ('1.5 KiB').
//
// Guarantees: `parseSize` accepts exactly its documented forms and throws a RangeError that
// quotes the bad text and shows a valid example; sizes are binary (K = 1024).

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** '64M' -> 67108864. Accepts an integer with an optional K/M/G/T suffix (and optional 'i'/'B'). */
export function parseSize(text: string, what = 'size'): number {
  const m = /^(\d+)\s*([kmgt]?)(?:i?b)?$/i.exec(String(text).trim());
  if (!m) throw new RangeError(`${what}: '${text}' is not a size (examples: 1500, 64K, 64M, 1G)`);
  const value = Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()];
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what}: '${text}' is too large`);
  return value;
}

/** 1536 -> '1.5 KiB'. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}
