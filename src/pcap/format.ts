// The classic libpcap file format (not pcapng), as libpcap and Wireshark define it
// (draft-ietf-opsawg-pcap, "PCAP Capture File Format"):
//
//   file header, 24 bytes                     record header, 16 bytes, then incl_len bytes
//   0      4      6      8        12      16       20          0       4        8          12
//   +------+------+------+--------+-------+--------+           +-------+--------+----------+----------+
//   | magic| major| minor| zone   |sigfigs|snaplen | linktype  | ts_sec| ts_frac| incl_len | orig_len |
//   +------+------+------+--------+-------+--------+           +-------+--------+----------+----------+
//
// All fields are in the writer's byte order, which the reader learns from the magic;
// ts_frac is microseconds or nanoseconds, also told by the magic.
//
// Guarantees: these constants are the only copy of the format's numbers in the project.

export const FILE_HEADER_BYTES = 24;
export const RECORD_HEADER_BYTES = 16;

/** Magic as written in the writer's byte order, read back little-endian. */
export const MAGIC_MICROS = 0xa1b2c3d4;
export const MAGIC_NANOS = 0xa1b23c4d;
export const MAGIC_MICROS_SWAPPED = 0xd4c3b2a1;
export const MAGIC_NANOS_SWAPPED = 0x4d3cb2a1;
/** First four bytes of a pcapng file (Section Header Block type), in either byte order. */
export const PCAPNG_BLOCK_TYPE = 0x0a0d0d0a;

export const VERSION_MAJOR = 2;
export const VERSION_MINOR = 4;

/** LINKTYPE_ETHERNET: IEEE 802.3 frames without preamble or FCS. */
export const LINKTYPE_ETHERNET = 1;

/** Default snapshot length, as tcpdump's: whole frames, jumbo and TSO-sized included. */
export const DEFAULT_SNAPLEN = 262144;
/** Largest record a reader accepts whatever the header says (libpcap's largest snaplen). */
export const MAX_RECORD_BYTES = 262144;

export type TimestampResolution = 'us' | 'ns';

export interface PcapHeader {
  readonly resolution: TimestampResolution;
  readonly littleEndian: boolean;
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly snaplen: number;
  readonly linktype: number;
}

/** A malformed or truncated capture; `offset` is the byte where the problem is. */
export class PcapFormatError extends Error {
  readonly code = 'ERR_WASM_TCPIP_PCAP_FORMAT';
  constructor(readonly source: string, readonly offset: number, problem: string) {
    super(`pcap ${source}: ${problem} at byte offset ${offset}`);
    this.name = 'PcapFormatError';
  }
}
