// The package's public surface (`import { ... } from 'wasm-tcpip'`).

export { MemoryLink, type MemoryLinkOptions, type MemoryLinkStats } from './links/memory.js';
export { impair, ImpairedLink, type ImpairOptions, type ImpairmentOptions, type PathStats } from './links/impair.js';
export { PcapLink, type PcapLinkOptions, type PcapLinkStats } from './links/pcap-link.js';
export { Recorder, type RecorderOptions } from './links/recorder.js';
export { PcapReader, type PcapRecord, type PcapFrame } from './pcap/reader.js';
export { PcapWriter, type PcapWriterOptions } from './pcap/writer.js';
export { PcapFormatError } from './pcap/format.js';
export type { Link, FrameRings } from './links/link.js';

export { createStack, Stack, type CloseOptions, type CloseResult } from './stack/stack.js';
export type { StackOptions, TcpSettings, ArpSettings, UdpSettings, RingSettings } from './stack/options.js';
export { RealClock, VirtualClock, type Clock, type VirtualClockOptions } from './clock/clock.js';
export { Socket, type SocketConstructorOptions, type TcpConnectOptions, type AddressInfo, type LookupFunction } from './net/socket.js';
export { Server, type ServerOptions, type ListenOptions, type DropInfo } from './net/server.js';
export type { Net, SocketClass, ServerClass } from './net/net.js';
export type { SystemError } from './net/errors.js';
export { UdpSocket, type Dgram, type RemoteInfo, type BindOptions, type SendCallback, type SocketOptions as UdpSocketOptions } from './dgram/socket.js';
export { SharedMemoryLink, SharedMemoryPort, type SharedMemoryLinkOptions, type SharedMemoryLinkStats, type SharedEndpoint, type SteerFunction } from './links/shared-memory.js';
export { WorkerStack, type WorkerPoolOptions, type WorkerInfo, type WorkerCounters, type WorkerCloseResult, type BridgeNet } from './workers/pool.js';
export { BridgeSocket, BridgeServer } from './workers/bridge.js';
export type { WorkerAppContext } from './workers/protocol.js';
export { RssSteering, ToeplitzIpv4, toeplitzHash, SYMMETRIC_RSS_KEY, MICROSOFT_RSS_KEY, type RssSteeringOptions } from './rss/toeplitz.js';
// The DPDK link: the native addon is loaded only when a link is opened, so importing
// 'wasm-tcpip' works on machines without libdpdk.
export { DpdkLink, type DpdkLinkOptions, type DpdkOpenOptions, type DpdkLinkStats } from './links/dpdk.js';
export { DpdkError } from './dpdk/errors.js';
export type { EalOptions } from './dpdk/eal.js';
