// The package's public surface (`import { ... } from 'wasm-tcpip'`).

export { MemoryLink, type MemoryLinkOptions, type MemoryLinkStats } from './links/memory.js';
export { impair, ImpairedLink, type ImpairOptions, type ImpairmentOptions, type PathStats } from './links/impair.js';
export { PcapLink, type PcapLinkOptions, type PcapLinkStats } from './links/pcap-link.js';
export { Recorder, type RecorderOptions } from './links/recorder.js';
export { PcapReader, type PcapRecord, type PcapFrame } from './pcap/reader.js';
export { PcapWriter, type PcapWriterOptions } from './pcap/writer.js';
export { PcapFormatError } from './pcap/format.js';
export type { Link, FrameRings } from './links/link.js';
