// A link that feeds a stack the frames of a libpcap capture at the capture's own pace, and
// collects what the stack sends. With a virtual clock a replay is exact: `pendingUs()` is
// the next frame's time, so the driver jumps to it.
//
// Guarantees:
// - Time: frame k is ready at `startUs + (ts_k - ts_first)` on the stack's clock, where
//   ts_first is the first frame of the file (filtered out or not), so relative spacing is
//   the capture's. A timestamp earlier than its predecessor's is delivered right after it
//   (file order wins, as tcpreplay does).
// - Filter: with `to`, only frames addressed to that MAC (or to a group address) and/or to
//   that IPv4 address (IPv4 destination, or ARP target) are fed; the rest are counted as
//   `filtered`. Up to two VLAN tags are looked through.
// - A frame cut by the capture's snaplen, or larger than the stack's RX slots, is not fed
//   (it would be a different frame): it is counted (`dropped.truncated`, `dropped.oversize`).
// - The capture is read in bounded chunks (src/pcap/reader.ts); a corrupt capture raises
//   a PcapFormatError with the byte offset when the link reaches it.
// - Output: transmitted frames are kept in `output` (copies, with their time) unless
//   `collect: false`; wrap the link in a Recorder to write a pcap instead or as well.

import { LINKTYPE_ETHERNET, PcapFormatError } from '../pcap/format.js';
import { PcapReader, type PcapFrame, type PcapRecord } from '../pcap/reader.js';
import { optionRangeError, optionTypeError, rejectUnknownKeys } from './impair.js';
import { Desc, RxSlotWriter, type FrameRings, type Link } from './link.js';

export interface PcapLinkOptions {
  /** Capture file to read. Give this or `data`. */
  path?: string;
  /** A capture held in memory. */
  data?: Uint8Array;
  /** Time on the stack's clock (µs) at which the capture's first frame is due (default 0). */
  startUs?: number;
  /** Feed only frames addressed to this MAC ('02:00:00:00:00:01' or 6 bytes) and/or IPv4 address. */
  to?: { mac?: string | Uint8Array; ip?: string };
  /** Largest IP packet (default 1500). */
  mtu?: number;
  /** Keep transmitted frames in `output` (default true). */
  collect?: boolean;
}

export interface PcapLinkStats {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  /** Frames of the capture not addressed to the stack (`to`). */
  filtered: number;
  'dropped.truncated': number;
  'dropped.oversize': number;
}

const PCAP_LINK_KEYS = ['path', 'data', 'startUs', 'to', 'mtu', 'collect'];
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;

export function parseMac(value: unknown, name: string): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.length !== 6) throw optionRangeError(name, 'a MAC address of 6 bytes', `${value.length} bytes`);
    return Uint8Array.from(value);
  }
  if (typeof value !== 'string') throw optionTypeError(name, "a MAC address such as '02:00:00:00:00:01'", value);
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(value);
  if (!m) throw optionRangeError(name, "a MAC address such as '02:00:00:00:00:01'", JSON.stringify(value));
  return Uint8Array.from(m.slice(1, 7).map((h) => parseInt(h, 16)));
}

/** IPv4 dotted quad to a host-order unsigned integer. */
export function parseIpv4(value: unknown, name: string): number {
  if (typeof value !== 'string') throw optionTypeError(name, "an IPv4 address such as '10.0.0.1'", value);
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value);
  const parts = m ? m.slice(1, 5).map(Number) : [];
  if (!m || parts.some((p) => p > 255)) throw optionRangeError(name, "an IPv4 address such as '10.0.0.1'", JSON.stringify(value));
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export class PcapLink implements Link {
  readonly kind = 'pcap';
  readonly mtu: number;
  readonly mac: Uint8Array | undefined = undefined;
  readonly offloads = 0;
  readonly tsoLimits = null;
  readonly polled = false;
  /** Frames the stack transmitted (when `collect`), stamped with the driver's time. */
  readonly output: PcapFrame[] = [];
  private readonly reader: PcapReader;
  private readonly startUs: number;
  private readonly toMac: Uint8Array | null;
  private readonly toIp: number | null;
  private readonly collect: boolean;
  private rings: FrameRings | null = null;
  private rx: RxSlotWriter | null = null;
  /** The next frame to feed (already filtered), or null at the end of the capture. */
  private nextRecord: PcapRecord | null = null;
  private nextAt = Infinity;
  private firstTsUs = NaN;
  private lastAt = -Infinity;
  private closed = false;
  private readonly counts: PcapLinkStats = {
    rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, filtered: 0, 'dropped.truncated': 0, 'dropped.oversize': 0,
  };

  constructor(options: PcapLinkOptions) {
    if (options === null || typeof options !== 'object') throw optionTypeError('PcapLink: options', 'an object with `path` or `data`', options);
    rejectUnknownKeys(options, PCAP_LINK_KEYS, 'PcapLink');
    const startUs = options.startUs ?? 0;
    if (typeof startUs !== 'number') throw optionTypeError('PcapLink: startUs', 'a number of µs', startUs);
    if (!(startUs >= 0 && Number.isFinite(startUs))) throw optionRangeError('PcapLink: startUs', 'a non-negative number of µs', startUs);
    this.startUs = startUs;
    const mtu = options.mtu ?? 1500;
    if (typeof mtu !== 'number') throw optionTypeError('PcapLink: mtu', 'an integer from 68 to 9000', mtu);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 9000) throw optionRangeError('PcapLink: mtu', 'an integer from 68 to 9000', mtu);
    this.mtu = mtu;
    this.collect = options.collect ?? true;
    if (typeof this.collect !== 'boolean') throw optionTypeError('PcapLink: collect', 'a boolean', this.collect);
    const to = options.to;
    if (to !== undefined && (to === null || typeof to !== 'object')) throw optionTypeError('PcapLink: to', 'an object { mac?, ip? }', to);
    if (to) rejectUnknownKeys(to, ['mac', 'ip'], 'PcapLink: to');
    this.toMac = to?.mac !== undefined ? parseMac(to.mac, 'PcapLink: to.mac') : null;
    this.toIp = to?.ip !== undefined ? parseIpv4(to.ip, 'PcapLink: to.ip') : null;
    if (options.path !== undefined && options.data !== undefined) {
      throw Object.assign(new TypeError('PcapLink: give `path` or `data`, not both'), { code: 'ERR_INVALID_ARG_VALUE' });
    }
    if (typeof options.path === 'string') this.reader = PcapReader.open(options.path);
    else if (options.data instanceof Uint8Array) this.reader = PcapReader.from(options.data, 'data');
    else throw Object.assign(new TypeError('PcapLink: give `path` (a pcap file) or `data` (its bytes)'), { code: 'ERR_INVALID_ARG_TYPE' });
    if (this.reader.header.linktype !== LINKTYPE_ETHERNET) {
      const source = this.reader.source;
      this.reader.close();
      throw new PcapFormatError(source, 20, `link type ${this.reader.header.linktype} is not Ethernet (1): capture on an Ethernet interface, or convert with \`editcap -T ether\``);
    }
    this.advance();
  }

  get stats(): PcapLinkStats { return { ...this.counts }; }

  /** True once every frame of the capture has been fed (or filtered, or dropped). */
  get exhausted(): boolean { return this.nextRecord === null; }

  attach(rings: FrameRings, wake: (atUs: number) => void): void {
    this.rings = rings;
    this.rx = new RxSlotWriter(rings);
    if (this.nextAt !== Infinity) wake(this.nextAt);
  }

  receive(nowUs: number): number {
    const rings = this.rings;
    if (rings === null || this.closed) return 0;
    rings.instance.refreshViews();
    let k = 0;
    while (this.nextRecord !== null && this.nextAt <= nowUs && k < rings.rxSlots) {
      const r = this.nextRecord;
      if (r.capturedLength < r.originalLength) {
        this.counts['dropped.truncated']++;
      } else if (r.capturedLength > rings.rxSlotBytes) {
        this.counts['dropped.oversize']++;
      } else {
        this.rx!.put(k, r.data.subarray(r.offset, r.offset + r.capturedLength));
        this.counts.rxFrames++;
        this.counts.rxBytes += r.capturedLength;
        k++;
      }
      this.advance();
    }
    return k;
  }

  transmit(count: number, nowUs: number): void {
    const rings = this.rings;
    if (rings === null) return;
    const inst = rings.instance;
    inst.refreshViews();
    const dv = inst.dv;
    for (let i = 0; i < count; i++) {
      const d = rings.txDesc + i * Desc.SIZE;
      const addr = dv.getUint32(d + Desc.ADDR, true);
      const len = dv.getUint32(d + Desc.LEN, true);
      this.counts.txFrames++;
      this.counts.txBytes += len;
      if (this.collect) this.output.push({ tsUs: nowUs, data: inst.u8.slice(addr, addr + len), originalLength: len });
    }
  }

  pendingUs(): number {
    return this.closed ? Infinity : this.nextAt;
  }

  /** Stops feeding; the rest of the capture is not read. */
  close(): Promise<void> {
    this.closed = true;
    this.nextRecord = null;
    this.nextAt = Infinity;
    this.reader.close();
    return Promise.resolve();
  }

  /** Reads up to the next frame addressed to the stack and computes its time. */
  private advance(): void {
    for (let r = this.reader.next(); r !== null; r = this.reader.next()) {
      if (Number.isNaN(this.firstTsUs)) this.firstTsUs = r.tsUs;
      const at = Math.max(this.startUs + (r.tsUs - this.firstTsUs), this.lastAt);
      this.lastAt = at;
      if (!this.addressedToUs(r)) { this.counts.filtered++; continue; }
      this.nextRecord = r;
      this.nextAt = at;
      return;
    }
    this.nextRecord = null;
    this.nextAt = Infinity;
    this.reader.close();
  }

  private addressedToUs(r: PcapRecord): boolean {
    const b = r.data;
    const o = r.offset;
    const len = r.capturedLength;
    if (this.toMac === null && this.toIp === null) return true;
    if (len < 14) return false;
    if (this.toMac !== null && (b[o] & 1) === 0) {
      const mac = this.toMac;
      for (let i = 0; i < 6; i++) if (b[o + i] !== mac[i]) return false;
    }
    if (this.toIp === null) return true;
    let l3 = 14;
    let type = (b[o + 12] << 8) | b[o + 13];
    for (let tags = 0; tags < 2 && (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ); tags++) {
      if (len < l3 + 4) return false;
      type = (b[o + l3 + 2] << 8) | b[o + l3 + 3];
      l3 += 4;
    }
    let target: number;
    if (type === ETHERTYPE_IPV4) {
      if (len < l3 + 20) return false;
      target = ((b[o + l3 + 16] << 24) | (b[o + l3 + 17] << 16) | (b[o + l3 + 18] << 8) | b[o + l3 + 19]) >>> 0;
    } else if (type === ETHERTYPE_ARP) {
      if (len < l3 + 28) return false;
      target = ((b[o + l3 + 24] << 24) | (b[o + l3 + 25] << 16) | (b[o + l3 + 26] << 8) | b[o + l3 + 27]) >>> 0;
    } else {
      return false;
    }
    return target === this.toIp;
  }
}
