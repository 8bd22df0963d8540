// A link wrapper that records every frame a stack receives (after the inner link delivered
// it) and transmits (before the inner link sends it) to a libpcap file, stamped with the
// time the driver passed (`nowUs`, the stack's clock: virtual or real).
//
// Guarantees: frames are recorded in the order the stack saw them, each once per crossing;
// the file is complete after `close()` (or `flush()`). What is recorded is what crossed
// the frame boundary: with TX checksum offload the inner link (the NIC) fills checksums
// after this point, so such frames show the stack's partial values, as a capture taken on
// a host with offloads does.
//
// Placement with impairment: `new Recorder(impair(link, ...))` records what the stack sent
// and received (before the impairment on the way out); `impair(new Recorder(link), ...)`
// records what crossed the inner link (after it).

import { PcapWriter, type PcapWriterOptions } from '../pcap/writer.js';
import { Desc, LinkWrapper, type FrameRings, type Link } from './link.js';

export interface RecorderOptions extends PcapWriterOptions {
  /** File to write (created or truncated). Give this or `writer`. */
  path?: string;
  /** A writer to share (several links into one file); the recorder does not close it. */
  writer?: PcapWriter;
  /** What to record: 'both' (default), 'receive' or 'transmit'. */
  record?: 'both' | 'receive' | 'transmit';
}

export class Recorder extends LinkWrapper {
  readonly writer: PcapWriter;
  private readonly ownsWriter: boolean;
  private readonly recordRx: boolean;
  private readonly recordTx: boolean;
  private rings: FrameRings | null = null;

  constructor(inner: Link, options: RecorderOptions) {
    super(inner);
    if (options === null || typeof options !== 'object') {
      throw Object.assign(new TypeError('Recorder: options must be an object with `path` or `writer`'), { code: 'ERR_INVALID_ARG_TYPE' });
    }
    const what = options.record ?? 'both';
    if (what !== 'both' && what !== 'receive' && what !== 'transmit') {
      throw Object.assign(new RangeError(`Recorder: record must be 'both', 'receive' or 'transmit', got ${JSON.stringify(what)}`), { code: 'ERR_OUT_OF_RANGE' });
    }
    this.recordRx = what !== 'transmit';
    this.recordTx = what !== 'receive';
    if (options.writer !== undefined) {
      this.writer = options.writer;
      this.ownsWriter = false;
    } else if (typeof options.path === 'string' && options.path !== '') {
      const { path, writer: _w, record: _r, ...writerOptions } = options;
      this.writer = PcapWriter.open(path, writerOptions);
      this.ownsWriter = true;
    } else {
      throw Object.assign(new TypeError('Recorder: give `path` (a file to write) or `writer` (a PcapWriter)'), { code: 'ERR_INVALID_ARG_TYPE' });
    }
  }

  override attach(rings: FrameRings, wake: (atUs: number) => void): void {
    this.rings = rings;
    this.inner.attach(rings, wake);
  }

  override receive(nowUs: number): number {
    const n = this.inner.receive(nowUs);
    if (this.recordRx && n > 0) this.record(this.rings!.rxDesc, n, nowUs);
    return n;
  }

  override transmit(count: number, nowUs: number): void {
    if (this.recordTx && count > 0) this.record(this.rings!.txDesc, count, nowUs);
    this.inner.transmit(count, nowUs);
  }

  /** Writes what is buffered to the file. */
  flush(): void { this.writer.flush(); }

  override async close(): Promise<void> {
    try {
      await this.inner.close();
    } finally {
      if (this.ownsWriter) this.writer.close();
      else this.writer.flush();
    }
  }

  private record(descBase: number, count: number, nowUs: number): void {
    const inst = this.rings!.instance;
    inst.refreshViews();
    const dv = inst.dv;
    for (let i = 0; i < count; i++) {
      const d = descBase + i * Desc.SIZE;
      this.writer.write(inst.u8, dv.getUint32(d + Desc.ADDR, true), dv.getUint32(d + Desc.LEN, true), nowUs);
    }
  }
}
