// Writes a classic libpcap capture (src/pcap/format.ts) that tcpdump, tshark and Wireshark
// read: LINKTYPE_ETHERNET by default, microsecond or nanosecond timestamps, a snapshot
// length, either byte order.
//
// Guarantees: memory stays bounded (one buffer of `bufferBytes`, allocated at open; a
// record larger than it is written through); a frame is written whole or cut at `snaplen`
// with its original length kept; nothing is lost on `close()`, which flushes. Writes are
// synchronous, so a frame written before a crash of the caller's loop is in the file once
// flushed, and output order is call order.

import { closeSync, openSync, writeSync } from 'node:fs';
import {
  DEFAULT_SNAPLEN, FILE_HEADER_BYTES, LINKTYPE_ETHERNET, MAGIC_MICROS, MAGIC_NANOS, MAX_RECORD_BYTES,
  RECORD_HEADER_BYTES, VERSION_MAJOR, VERSION_MINOR, type TimestampResolution,
} from './format.js';

export interface PcapWriterOptions {
  /** Timestamp resolution: 'us' (default, the classic magic) or 'ns'. */
  resolution?: TimestampResolution;
  /** Bytes kept of each frame, 1-262144 (default 262144: whole frames). */
  snaplen?: number;
  /** Link-layer type of the frames (default 1, Ethernet). */
  linktype?: number;
  /** Byte order of the file (default little-endian; readers accept both). */
  littleEndian?: boolean;
  /** Size of the write buffer in bytes (default 1 MiB). */
  bufferBytes?: number;
}

/** Receives the file's bytes; `chunk` is valid only during the call. */
export type PcapSink = (chunk: Uint8Array) => void;

function rangeError(message: string): RangeError {
  return Object.assign(new RangeError(message), { code: 'ERR_OUT_OF_RANGE' });
}

function integerOption(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') {
    throw Object.assign(new TypeError(`PcapWriter: ${name} must be an integer from ${min} to ${max}, got ${typeof value}`), { code: 'ERR_INVALID_ARG_TYPE' });
  }
  if (!Number.isInteger(value) || value < min || value > max) throw rangeError(`PcapWriter: ${name} must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}

export class PcapWriter {
  readonly resolution: TimestampResolution;
  readonly snaplen: number;
  readonly linktype: number;
  readonly littleEndian: boolean;
  /** Frames written so far. */
  frames = 0;
  private readonly buffer: Uint8Array;
  private readonly view: DataView;
  private used = 0;
  private closed = false;

  /** Creates (or truncates) `path` and writes the file header. */
  static open(path: string, options: PcapWriterOptions = {}): PcapWriter {
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw Object.assign(new Error(`PcapWriter: cannot create ${path}: ${err.message} (check the directory exists and is writable)`), { code: err.code ?? 'ERR_WASM_TCPIP_PCAP_OPEN', cause: e });
    }
    return new PcapWriter((chunk) => { writeSync(fd, chunk, 0, chunk.length); }, options, () => closeSync(fd));
  }

  /** Writes to `sink`; `onClose` runs after the last flush. */
  constructor(private readonly sink: PcapSink, options: PcapWriterOptions = {}, private readonly onClose: () => void = () => {}) {
    const resolution = options.resolution ?? 'us';
    if (resolution !== 'us' && resolution !== 'ns') throw rangeError(`PcapWriter: resolution must be 'us' or 'ns', got ${JSON.stringify(resolution)}`);
    this.resolution = resolution;
    this.snaplen = integerOption(options.snaplen, 'snaplen', 1, MAX_RECORD_BYTES, DEFAULT_SNAPLEN);
    this.linktype = integerOption(options.linktype, 'linktype', 0, 0xffff, LINKTYPE_ETHERNET);
    this.littleEndian = options.littleEndian ?? true;
    const bufferBytes = integerOption(options.bufferBytes, 'bufferBytes', FILE_HEADER_BYTES + RECORD_HEADER_BYTES, 1 << 30, 1 << 20);
    this.buffer = new Uint8Array(bufferBytes);
    this.view = new DataView(this.buffer.buffer);
    const le = this.littleEndian;
    this.view.setUint32(0, resolution === 'ns' ? MAGIC_NANOS : MAGIC_MICROS, le);
    this.view.setUint16(4, VERSION_MAJOR, le);
    this.view.setUint16(6, VERSION_MINOR, le);
    this.view.setInt32(8, 0, le); // thiszone: timestamps are UTC
    this.view.setUint32(12, 0, le); // sigfigs
    this.view.setUint32(16, this.snaplen, le);
    this.view.setUint32(20, this.linktype, le);
    this.used = FILE_HEADER_BYTES;
  }

  /**
   * Appends `bytes[offset .. offset+length)` stamped `tsUs` (µs since the Unix epoch, or any
   * origin the caller chose: a virtual clock's zero reads as 1970-01-01).
   */
  write(bytes: Uint8Array, offset: number, length: number, tsUs: number): void {
    if (this.closed) throw Object.assign(new Error('PcapWriter: write after close'), { code: 'ERR_WASM_TCPIP_PCAP_CLOSED' });
    if (!(tsUs >= 0 && tsUs < 0x1_0000_0000 * 1e6)) throw rangeError(`PcapWriter: timestamp must be from 0 to 2^32 s in µs, got ${tsUs}`);
    const captured = Math.min(length, this.snaplen);
    if (this.used + RECORD_HEADER_BYTES + captured > this.buffer.length) this.flush();
    const sec = Math.floor(tsUs / 1e6);
    const fracUs = tsUs - sec * 1e6;
    const frac = this.resolution === 'ns' ? Math.min(999_999_999, Math.round(fracUs * 1000)) : Math.floor(fracUs);
    const le = this.littleEndian;
    const v = this.view;
    const h = this.used;
    v.setUint32(h, sec, le);
    v.setUint32(h + 4, frac, le);
    v.setUint32(h + 8, captured, le);
    v.setUint32(h + 12, length, le);
    this.used += RECORD_HEADER_BYTES;
    if (this.used + captured <= this.buffer.length) {
      this.buffer.set(bytes.subarray(offset, offset + captured), this.used);
      this.used += captured;
    } else {
      this.flush();
      this.sink(bytes.subarray(offset, offset + captured));
    }
    this.frames++;
  }

  /** Hands what is buffered to the sink. */
  flush(): void {
    if (this.used === 0) return;
    this.sink(this.buffer.subarray(0, this.used));
    this.used = 0;
  }

  /** Flushes and closes; further writes throw. Closing twice is harmless. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.onClose();
  }
}
