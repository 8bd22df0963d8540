// Reads a classic libpcap capture (src/pcap/format.ts): both magics (µs, ns), both byte
// orders, from a file in bounded chunks or from bytes in memory.
//
// Guarantees: every step consumes at least one record header, so reading ends; a file
// that is not a pcap (pcapng included), or is truncated or corrupt, raises a
// `PcapFormatError` naming the byte offset and the frame number, never a hang and never a
// silently shortened capture. Memory stays bounded by the chunk size or the largest record.

import { closeSync, openSync, readSync } from 'node:fs';
import {
  FILE_HEADER_BYTES, MAGIC_MICROS, MAGIC_MICROS_SWAPPED, MAGIC_NANOS, MAGIC_NANOS_SWAPPED, MAX_RECORD_BYTES,
  PCAPNG_BLOCK_TYPE, PcapFormatError, RECORD_HEADER_BYTES, VERSION_MAJOR, type PcapHeader,
} from './format.js';

/** One frame. Reused by the reader: `data[offset .. offset+capturedLength)` is valid until the next `next()`. */
export interface PcapRecord {
  /** 1-based frame number, as Wireshark counts. */
  index: number;
  /** Byte offset of the record header in the file. */
  fileOffset: number;
  /** Timestamp in µs since the epoch (fractional for nanosecond files). */
  tsUs: number;
  tsSec: number;
  /** Microseconds or nanoseconds, as the header's resolution says. */
  tsFrac: number;
  capturedLength: number;
  originalLength: number;
  data: Uint8Array;
  offset: number;
}

/** A frame copied out of a capture. */
export interface PcapFrame {
  tsUs: number;
  data: Uint8Array;
  originalLength: number;
}

const DEFAULT_CHUNK_BYTES = 1 << 20;

export class PcapReader {
  readonly header: PcapHeader;
  private buf: Uint8Array;
  private view: DataView;
  /** Valid bytes are buf[start .. end); buf[0] is at file offset `base`. */
  private start = 0;
  private end: number;
  private base = 0;
  private eof: boolean;
  private fd: number | null;
  private readonly record: PcapRecord = {
    index: 0, fileOffset: 0, tsUs: 0, tsSec: 0, tsFrac: 0, capturedLength: 0, originalLength: 0, data: new Uint8Array(0), offset: 0,
  };

  /** Opens `path` and reads its header; throws a PcapFormatError if it is not a pcap. */
  static open(path: string, options: { chunkBytes?: number } = {}): PcapReader {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw Object.assign(new Error(`pcap ${path}: cannot open: ${err.message}`), { code: err.code ?? 'ERR_WASM_TCPIP_PCAP_OPEN', cause: e });
    }
    try {
      return new PcapReader(path, new Uint8Array(options.chunkBytes ?? DEFAULT_CHUNK_BYTES), 0, fd);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** Reads a capture held in memory; `name` appears in error messages. */
  static from(bytes: Uint8Array, name = 'buffer'): PcapReader {
    return new PcapReader(name, bytes, bytes.length, null);
  }

  /** Every frame of `path`, copied. For small captures (tests, golden files). */
  static readAll(path: string): { header: PcapHeader; frames: PcapFrame[] } {
    const reader = PcapReader.open(path);
    try {
      const frames: PcapFrame[] = [];
      for (let r = reader.next(); r !== null; r = reader.next()) {
        frames.push({ tsUs: r.tsUs, data: r.data.slice(r.offset, r.offset + r.capturedLength), originalLength: r.originalLength });
      }
      return { header: reader.header, frames };
    } finally {
      reader.close();
    }
  }

  private constructor(readonly source: string, buf: Uint8Array, end: number, fd: number | null) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.end = end;
    this.fd = fd;
    this.eof = fd === null;
    this.header = this.readHeader();
  }

  private readHeader(): PcapHeader {
    const have = this.fill(FILE_HEADER_BYTES);
    if (have >= 4) {
      const first = this.view.getUint32(0, true);
      if (first === PCAPNG_BLOCK_TYPE) {
        throw new PcapFormatError(this.source, 0, 'this is a pcapng file, not a classic pcap: convert it with `editcap -F pcap IN OUT` or capture with `tcpdump -w`');
      }
    }
    if (have < FILE_HEADER_BYTES) {
      throw new PcapFormatError(this.source, have, `truncated file header: ${have} of ${FILE_HEADER_BYTES} bytes`);
    }
    const magic = this.view.getUint32(0, true);
    let littleEndian: boolean;
    let resolution: 'us' | 'ns';
    switch (magic) {
      case MAGIC_MICROS: littleEndian = true; resolution = 'us'; break;
      case MAGIC_NANOS: littleEndian = true; resolution = 'ns'; break;
      case MAGIC_MICROS_SWAPPED: littleEndian = false; resolution = 'us'; break;
      case MAGIC_NANOS_SWAPPED: littleEndian = false; resolution = 'ns'; break;
      default:
        throw new PcapFormatError(this.source, 0, `unknown magic 0x${magic.toString(16).padStart(8, '0')} (not a libpcap capture)`);
    }
    const v = this.view;
    const versionMajor = v.getUint16(4, littleEndian);
    if (versionMajor !== VERSION_MAJOR) {
      throw new PcapFormatError(this.source, 4, `unsupported version ${versionMajor}.${v.getUint16(6, littleEndian)} (expected ${VERSION_MAJOR}.x)`);
    }
    const header: PcapHeader = {
      resolution,
      littleEndian,
      versionMajor,
      versionMinor: v.getUint16(6, littleEndian),
      snaplen: v.getUint32(16, littleEndian),
      linktype: v.getUint32(20, littleEndian) & 0xffff,
    };
    this.start = FILE_HEADER_BYTES;
    return header;
  }

  /** Next frame, or null at the end of the capture. */
  next(): PcapRecord | null {
    const r = this.record;
    const frameNo = r.index + 1;
    const at = this.base + this.start;
    const have = this.fill(RECORD_HEADER_BYTES);
    if (have === 0) return null;
    if (have < RECORD_HEADER_BYTES) {
      throw new PcapFormatError(this.source, at, `truncated record header of frame ${frameNo}: ${have} of ${RECORD_HEADER_BYTES} bytes`);
    }
    const le = this.header.littleEndian;
    const v = this.view;
    const h = this.start;
    const tsSec = v.getUint32(h, le);
    const tsFrac = v.getUint32(h + 4, le);
    const captured = v.getUint32(h + 8, le);
    const original = v.getUint32(h + 12, le);
    const fracLimit = this.header.resolution === 'ns' ? 1_000_000_000 : 1_000_000;
    if (tsFrac >= fracLimit) {
      throw new PcapFormatError(this.source, at + 4, `corrupt timestamp of frame ${frameNo}: fraction ${tsFrac} is not below ${fracLimit}`);
    }
    if (captured > MAX_RECORD_BYTES) {
      throw new PcapFormatError(this.source, at + 8, `corrupt record length of frame ${frameNo}: ${captured} bytes is over the ${MAX_RECORD_BYTES}-byte maximum`);
    }
    const need = RECORD_HEADER_BYTES + captured;
    const got = this.fill(need);
    if (got < need) {
      throw new PcapFormatError(this.source, at + RECORD_HEADER_BYTES, `truncated frame ${frameNo}: ${got - RECORD_HEADER_BYTES} of ${captured} bytes`);
    }
    r.index = frameNo;
    r.fileOffset = at;
    r.tsSec = tsSec;
    r.tsFrac = tsFrac;
    r.tsUs = tsSec * 1e6 + (this.header.resolution === 'ns' ? tsFrac / 1000 : tsFrac);
    r.capturedLength = captured;
    r.originalLength = original;
    r.data = this.buf;
    r.offset = this.start + RECORD_HEADER_BYTES;
    this.start += need;
    return r;
  }

  /** Releases the file (the reader is done). */
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.eof = true;
  }

  /**
   * Makes `n` bytes available from `start` if the source has them; returns how many are
   * (less than `n` only at the end of the source). Moves the valid bytes to the front of
   * the buffer, and grows it only for a record larger than the chunk.
   */
  private fill(n: number): number {
    if (this.end - this.start >= n || this.eof) return Math.min(n, this.end - this.start);
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.base += this.start;
      this.end -= this.start;
      this.start = 0;
    }
    if (n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(n, this.buf.length * 2));
      bigger.set(this.buf.subarray(0, this.end));
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    while (this.end < n) {
      const got = readSync(this.fd!, this.buf, this.end, this.buf.length - this.end, null);
      if (got === 0) { this.eof = true; break; }
      this.end += got;
    }
    return Math.min(n, this.end);
  }
}
