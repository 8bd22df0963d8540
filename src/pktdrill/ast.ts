// The parsed form of a packetdrill script: what the runner executes.
//
// Guarantees: every event keeps its source line and column; times are in microseconds as
// written (relative times are resolved by the runner, which alone knows when `*` and range
// events actually happened); TCP sequence numbers, ACKs, SACK blocks and timestamps are the
// script's values (script space), mapped to and from live values by the runner.

export interface Loc { line: number; column: number }

export type TimeSpec =
  | { kind: 'absolute'; us: number }
  | { kind: 'relative'; us: number }
  | { kind: 'any' }
  | { kind: 'absoluteRange'; us: number; endUs: number }
  | { kind: 'relativeRange'; us: number; endUs: number };

export type TcpOption =
  | { kind: 'nop' }
  | { kind: 'eol' }
  | { kind: 'mss'; value: number }
  | { kind: 'wscale'; value: number }
  | { kind: 'sackOK' }
  | { kind: 'sack'; blocks: Array<[number, number]> }
  | { kind: 'TS'; val: number; ecr: number }
  /** TCP Fast Open (RFC 7413 4.1.1, kind 34): `cookie` in hex, '' for a cookie request. */
  | { kind: 'FO'; cookie: string };

/** ECN codepoint expectations/settings written as `[ect0]`, `[ce]`, ... before the flags. */
export type EcnSpec = 'noecn' | 'ect0' | 'ect1' | 'ce' | 'ect01';

export interface TcpPacket {
  proto: 'tcp';
  /** Flag letters as written, e.g. "S", "S.", "P.", "F.", "R", "SEW", "." ("" for `-`). */
  flags: string;
  seq: number;
  len: number;
  /** `ack N`, or undefined when the segment has no ack number written. */
  ack?: number;
  /** `win N`; required inbound (as packetdrill), optional outbound (undefined = not checked). */
  win?: number;
  urg?: number;
  /** Options as written; null for `<...>` (outbound only: options not checked). */
  options: TcpOption[] | null;
}

export interface UdpPacket { proto: 'udp'; len: number }

export interface IcmpPacket {
  proto: 'icmp';
  type: string;
  code?: string;
  mtu?: number;
  /** The header the ICMP error echoes: a TCP sequence range or a UDP payload length. */
  echoed?: { proto: 'tcp'; seq: number; len: number } | { proto: 'udp'; len: number };
}

export interface PacketEvent {
  type: 'packet';
  loc: Loc;
  time: TimeSpec;
  direction: 'inbound' | 'outbound';
  ecn?: EcnSpec;
  ports?: { src: number; dst: number };
  packet: TcpPacket | UdpPacket | IcmpPacket;
  /** The source text of the line, for messages. */
  source: string;
}

export type Expr =
  | { kind: 'int'; value: number; loc: Loc }
  | { kind: 'ellipsis'; loc: Loc }
  | { kind: 'word'; name: string; loc: Loc }
  | { kind: 'string'; value: string; trailingEllipsis: boolean; loc: Loc }
  | { kind: 'list'; items: Expr[]; loc: Loc }
  | { kind: 'struct'; items: Expr[]; loc: Loc }
  | { kind: 'call'; name: string; args: Expr[]; loc: Loc }
  | { kind: 'or'; lhs: Expr; rhs: Expr; loc: Loc }
  | { kind: 'assign'; name: string; value: Expr; loc: Loc };

export interface SyscallEvent {
  type: 'syscall';
  loc: Loc;
  time: TimeSpec;
  /** End time written after `...` (absolute, or relative to the previous event when the start is relative). */
  endUs?: number;
  name: string;
  args: Expr[];
  result: Expr;
  errno?: { name: string; text: string };
  source: string;
}

export interface CommandEvent {
  type: 'command';
  loc: Loc;
  time: TimeSpec;
  command: string;
  source: string;
}

export interface CodeEvent {
  type: 'code';
  loc: Loc;
  time: TimeSpec;
  source: string;
}

export type ScriptEvent = PacketEvent | SyscallEvent | CommandEvent | CodeEvent;

export interface ScriptOption { name: string; value?: string; loc: Loc }

export interface Script {
  file: string;
  options: ScriptOption[];
  /** Backquoted command before the first event (packetdrill's init command). */
  initCommand?: { command: string; loc: Loc };
  events: ScriptEvent[];
  /** Backquoted command after the last event, without a time (cleanup command). */
  cleanupCommand?: { command: string; loc: Loc };
}
