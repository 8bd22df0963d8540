// IPv4 addresses on the host side: dotted-quad text <-> 32-bit numbers in host order (the
// order the stack's ABI uses), and the literal checks the socket API makes.
//
// Guarantees: `parseIpv4` accepts exactly the four-decimal-octet form Node's `net.isIPv4`
// accepts (no leading zeros beyond '0', each octet 0-255) and returns null for anything
// else; numbers it returns are unsigned (0 .. 2^32-1).

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** '10.0.0.1' -> 0x0a000001, or null when the text is not an IPv4 literal. */
export function parseIpv4(text: string): number | null {
  if (typeof text !== 'string') return null;
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const p of parts) {
    if (!OCTET.test(p)) return null;
    value = value * 256 + Number(p);
  }
  return value;
}

/** 0x0a000001 -> '10.0.0.1'. */
export function formatIpv4(value: number): string {
  return `${(value >>> 24) & 255}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** The network mask of a prefix length, as an unsigned number. */
export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** True when `a` and `b` are in the same /prefix network. */
export function sameNetwork(a: number, b: number, prefix: number): boolean {
  const mask = prefixMask(prefix);
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

/** Formats a MAC given as 6 bytes: '02:00:0a:00:00:01'. */
export function formatMac(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Parses 'aa:bb:cc:dd:ee:ff' (or '-' separated); null when malformed. */
export function parseMac(text: string): Uint8Array | null {
  if (typeof text !== 'string' || !/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(text)) return null;
  return Uint8Array.from(text.split(/[:-]/), (h) => parseInt(h, 16));
}
