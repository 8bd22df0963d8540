// Runs one parsed packetdrill script against a fresh stack instance on a virtual clock.
//
// Guarantees: events run in script order at their script times; inbound packets are built
// from script values mapped to live ones (the peer's ISN is the script's, so inbound sequence
// numbers are used as written; ACKs and SACK blocks are shifted by the stack's ISN, learned
// from its SYN or SYN-ACK; an inbound TS ecr is the live TS val that the script's value stood
// for); every outbound frame is checked, all fields (flags, seq, ack, win, options in order,
// payload length, ports, checksums) and its time within --tolerance_usecs (default 4000 µs, as
// packetdrill) of the script's; an outbound frame no line expected, an expected frame that
// never came, a wrong return value or errno, each fails the script with its line, what was
// expected and what happened. A run depends only on the script and the seed.

import type { EcnSpec, PacketEvent, Script, ScriptEvent, SyscallEvent, TcpOption, TcpPacket } from './ast.js';
import { StackHarness, type CapturedFrame } from './harness.js';
import { StackInstance } from '../wasm/instance.js';
import { interpretShellLine } from './sysctl.js';
import { SocketTable, SyscallError, describeExpr, errnoNumber, evalExpr, type Attempt, type CallResult } from './syscalls.js';
import {
  buildEthernet, buildIcmp, buildIpv4, buildTcp, buildUdp, decodeFrame, encodeTcpOptions, ETH_IPV4, ETH_MIN_FRAME, flagsFromLetters,
  formatTcpOptions, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, ipAddress, lettersFromFlags, TcpFlag,
  type DecodedFrame,
} from '../testing/frames.js';
import { formatIpv4, formatMac, parseIpv4 } from '../net/ipv4.js';

export interface RunOptions {
  /** Window values and option differences on outbound segments become warnings. */
  lenient?: boolean;
  /** Stack seed (ISNs, ephemeral ports). Default 1. */
  seed?: number;
  /** Use the debug build of the stack. */
  debug?: boolean;
}

export interface ScriptResult {
  file: string;
  passed: boolean;
  /** On failure: "file:line: what\n  script: ...\n  expected: ...\n  actual: ...". */
  error?: string;
  warnings: string[];
  /** Every frame in and out, for --pcap style debugging. */
  trace?: Array<{ dir: 'in' | 'out'; timeUs: number; bytes: Uint8Array }>;
}

/** A failure of the script under test (not of the runner). */
export class ScriptFailure extends Error {}

const PEER_PORT = 40000;
const LOCAL_MAC = Uint8Array.of(0x02, 0x00, 0x00, 0x00, 0x00, 0x01);
const PEER_MAC = Uint8Array.of(0x02, 0x00, 0x00, 0x00, 0x00, 0x02);

const ICMP_TYPES: Record<string, number> = {
  echo_reply: 0, unreachable: 3, source_quench: 4, redirect: 5, echo_request: 8, time_exceeded: 11, parameter_problem: 12,
};
const ICMP_UNREACH_CODES: Record<string, number> = {
  net_unreachable: 0, host_unreachable: 1, protocol_unreachable: 2, port_unreachable: 3, frag_needed: 4,
  source_route_failed: 5, net_unknown: 6, host_unknown: 7, source_host_isolated: 8, net_prohibited: 9,
  host_prohibited: 10, net_unreachable_for_tos: 11, host_unreachable_for_tos: 12, packet_filtered: 13,
};
const ECN_BITS: Record<EcnSpec, number> = { noecn: 0, ect1: 1, ect0: 2, ce: 3, ect01: -1 };

interface Settings {
  toleranceUs: number;
  localIp: number;
  remoteIp: number;
  gatewayIp: number;
  prefix: number;
  mtu: number;
  bindPort: number;
  connectPort: number;
  tsTickUs: number;
}

function fmtTime(us: number): string { return (us / 1e6).toFixed(6); }

export function runScript(script: Script, options: RunOptions = {}): ScriptResult {
  let run: ScriptRun;
  try {
    run = new ScriptRun(script, options);
  } catch (e) {
    if (e instanceof ScriptFailure) return { file: script.file, passed: false, error: e.message, warnings: [] };
    throw e;
  }
  try {
    run.execute();
    return { file: script.file, passed: true, warnings: run.warnings, trace: run.trace() };
  } catch (e) {
    if (e instanceof ScriptFailure || e instanceof SyscallError) {
      return { file: script.file, passed: false, error: e.message, warnings: run.warnings, trace: run.trace() };
    }
    const err = e as Error;
    return {
      file: script.file, passed: false, warnings: run.warnings, trace: run.trace(),
      error: `${script.file}:${run.currentLine}: the stack or the runner failed: ${err.message}`,
    };
  }
}

class ScriptRun {
  readonly warnings: string[] = [];
  currentLine = 0;
  private readonly s: Settings;
  private harness: StackHarness | undefined;
  private sockets: SocketTable | undefined;
  private readonly config: Array<[string, number]> = [];
  /** Time of the previous event (the base of relative times), µs. */
  private lastEventUs = 0;
  private ipId = 1;
  // Connection mapping (packetdrill's socket-under-test).
  private localPort: number;
  private remotePort = PEER_PORT;
  private scriptLocalIsn = 0;
  private liveLocalIsn = 0;
  private learnIsn = true;
  /** Ports of the last datagram a script's socket sent (outbound UDP lines are checked against them). */
  private udpPorts: { src: number; dst: number } | undefined;
  private readonly tsValMap = new Map<number, number>();
  private firstTs: { script: number; live: number } | undefined;
  // The one blocking call in flight.
  private pending: { ev: SyscallEvent; attempt: Attempt; endUs: number } | undefined;

  constructor(private readonly script: Script, private readonly options: RunOptions) {
    this.s = this.settings();
    this.localPort = this.s.bindPort;
  }

  trace(): ScriptResult['trace'] { return this.harness?.trace; }

  private fail(line: number, what: string, details: Record<string, string> = {}): never {
    const ev = this.script.events.find((e) => e.loc.line === line);
    const lines = [`${this.script.file}:${line}: ${what}`];
    if (ev) lines.push(`  script:   ${ev.source}`);
    for (const [k, v] of Object.entries(details)) lines.push(`  ${`${k}:`.padEnd(9)} ${v}`);
    throw new ScriptFailure(lines.join('\n'));
  }

  private settings(): Settings {
    const s: Settings = {
      toleranceUs: 4000,
      localIp: ipAddress('192.168.0.2'),
      remoteIp: ipAddress('192.0.2.1'),
      gatewayIp: ipAddress('192.168.0.1'),
      prefix: 16,
      mtu: 1500,
      bindPort: 8080,
      connectPort: 8080,
      tsTickUs: 0,
    };
    for (const o of this.script.options) {
      const v = o.value ?? '';
      const where = `${this.script.file}:${o.loc.line}`;
      const num = (): number => {
        const n = Number(v);
        if (!Number.isFinite(n) || n < 0) throw new ScriptFailure(`${where}: --${o.name} needs a non-negative number, got "${v}"`);
        return n;
      };
      const ip = (): number => {
        const a = parseIpv4(v.replace(/\/\d+$/, ''));
        if (a === null) throw new ScriptFailure(`${where}: --${o.name} needs an IPv4 address, got "${v}"`);
        return a;
      };
      switch (o.name) {
        case 'ip_version':
          if (v !== 'ipv4') throw new ScriptFailure(`${where}: --ip_version=${v} is not supported: the stack is IPv4 only (use --ip_version=ipv4)`);
          break;
        case 'tolerance_usecs': s.toleranceUs = num(); break;
        case 'local_ip': s.localIp = ip(); break;
        case 'remote_ip': s.remoteIp = ip(); break;
        case 'gateway_ip': s.gatewayIp = ip(); break;
        case 'netmask_ip': {
          const m = ip();
          let bits = 0;
          while (bits < 32 && (m & (0x80000000 >>> bits))) bits++;
          s.prefix = bits;
          break;
        }
        case 'mtu': s.mtu = num(); break;
        case 'mss': s.mtu = num() + 40; break;
        case 'bind_port': s.bindPort = num(); break;
        case 'connect_port': s.connectPort = num(); break;
        case 'tcp_ts_tick_usecs': s.tsTickUs = num(); break;
        default: this.warnings.push(`ignored: --${o.name}${o.value !== undefined ? `=${o.value}` : ''} (no equivalent in this runner)`);
      }
    }
    return s;
  }

  // ---- setup ----

  private applyShell(command: string, line: number, configurable: boolean): void {
    const keys = this.harness?.instance.configKeys ?? probeConfigKeys(this.options.debug);
    for (const out of interpretShellLine(command, keys)) {
      if (out.kind === 'ignored') {
        this.warnings.push(`ignored: line ${line}: \`${out.text}\`: ${out.reason}`);
      } else if (!configurable) {
        this.warnings.push(`ignored: line ${line}: ${out.sysctl}: the stack's configuration is fixed once the script has started (put sysctl lines before the first event)`);
      } else {
        this.config.push(...out.settings);
      }
    }
  }

  private stack(): StackHarness {
    if (!this.harness) {
      const s = this.s;
      const h = new StackHarness({
        localIp: s.localIp, prefix: s.prefix, gateway: s.gatewayIp, peerIps: [s.remoteIp, s.gatewayIp],
        localMac: LOCAL_MAC, peerMac: PEER_MAC, mtu: s.mtu, seed: this.options.seed ?? 1, config: this.config,
        debug: this.options.debug,
      });
      this.harness = h;
      this.sockets = new SocketTable(h, {
        localIp: s.localIp, remoteIp: s.remoteIp, bindPort: s.bindPort, connectPort: s.connectPort,
        warn: (m) => this.warnings.push(`line ${this.currentLine}: ${m}`),
        udpSent: (src, dst) => { this.udpPorts = { src, dst }; },
      });
      h.afterBurst = () => this.retryPending();
    }
    return this.harness;
  }

  // ---- the event loop ----

  execute(): void {
    if (this.script.initCommand) this.applyShell(this.script.initCommand.command, this.script.initCommand.loc.line, true);
    let started = false;
    for (const ev of this.script.events) {
      this.currentLine = ev.loc.line;
      if (!started && ev.type === 'command') {
        this.applyShell(ev.command, ev.loc.line, true);
        this.lastEventUs = this.eventTime(ev);
        continue;
      }
      started = true;
      this.runEvent(ev);
    }
    const h = this.stack();
    if (this.pending) this.finishPending();
    // Whatever the stack sends up to the tolerance after the last event must have been expected.
    h.advanceTo(this.lastEventUs + this.s.toleranceUs, () => h.outbound.length > 0);
    if (h.outbound.length > 0) this.unexpected(h.outbound[0], this.script.events[this.script.events.length - 1].loc.line, 'after the last line');
    if (this.script.cleanupCommand) {
      this.warnings.push(`ignored: line ${this.script.cleanupCommand.loc.line}: cleanup command \`${this.script.cleanupCommand.command}\` (shell commands are not run)`);
    }
  }

  /** The script time of an event that has a fixed time (not `*`), µs. */
  private eventTime(ev: ScriptEvent): number {
    const t = ev.time;
    switch (t.kind) {
      case 'absolute': case 'absoluteRange': return t.us;
      case 'relative': case 'relativeRange': return this.lastEventUs + t.us;
      case 'any': return this.lastEventUs;
    }
  }

  private runEvent(ev: ScriptEvent): void {
    const h = this.stack();
    if (ev.type === 'packet' && ev.direction === 'outbound') {
      this.expectOutbound(ev);
      return;
    }
    const at = this.eventTime(ev);
    if (at < h.nowUs - this.s.toleranceUs) {
      this.fail(ev.loc.line, `event time ${fmtTime(at)} is before the current time ${fmtTime(h.nowUs)} (times must not go backwards)`);
    }
    if (ev.type === 'syscall' && this.pending) this.finishPending();
    h.advanceTo(at, undefined, () => this.sockets!.wakeAtUs);
    const early = h.outbound.find((f) => f.timeUs < at - this.s.toleranceUs);
    if (early) this.unexpected(early, ev.loc.line, `before line ${ev.loc.line}`);
    this.lastEventUs = at;
    switch (ev.type) {
      case 'packet': this.inject(ev); break;
      case 'syscall': this.syscall(ev, at); break;
      case 'command': this.applyShell(ev.command, ev.loc.line, false); break;
      case 'code': this.warnings.push(`ignored: line ${ev.loc.line}: %{ code }% block (post-processing code is not run)`); break;
    }
  }

  private unexpected(frame: CapturedFrame, line: number, where: string): never {
    this.fail(line, `unexpected outbound packet ${where}`, { actual: `${fmtTime(frame.timeUs)} ${this.describeFrame(decodeFrame(frame.bytes))}` });
  }

  // ---- system calls ----

  private syscall(ev: SyscallEvent, at: number): void {
    const sockets = this.sockets!;
    // An active open sends a new SYN: its sequence number fixes the stack's ISN again.
    if (ev.name === 'connect') this.learnIsn = true;
    let attempt: Attempt;
    try {
      attempt = sockets.start(ev);
    } catch (e) {
      if (e instanceof SyscallError) this.fail(ev.loc.line, e.message);
      throw e;
    }
    const endUs = ev.endUs === undefined ? undefined : (ev.time.kind === 'relative' ? at - ev.time.us + ev.endUs : ev.endUs);
    const r = this.tryAttempt(ev, attempt);
    if (r === undefined) {
      if (endUs === undefined) {
        this.fail(ev.loc.line, `${ev.name}() blocked, but the script expects it to return at once`, {
          expected: `returns at ${fmtTime(at)} (write "start...end ${ev.name}(...)" for a call that blocks, or make the socket non-blocking)`,
          actual: `blocked; sockets: ${sockets.describe()}`,
        });
      }
      this.pending = { ev, attempt, endUs };
      return;
    }
    this.checkResult(ev, r, this.stack().nowUs, endUs ?? at);
  }

  private tryAttempt(ev: SyscallEvent, attempt: Attempt): CallResult | undefined {
    try {
      return attempt();
    } catch (e) {
      if (e instanceof SyscallError) this.fail(ev.loc.line, e.message);
      throw e;
    }
  }

  /** After every burst: a blocked call may now complete. */
  private retryPending(): void {
    const p = this.pending;
    if (!p) return;
    const r = this.tryAttempt(p.ev, p.attempt);
    if (r === undefined) return;
    this.pending = undefined;
    this.checkResult(p.ev, r, this.harness!.nowUs, p.endUs);
  }

  private finishPending(): void {
    const p = this.pending!;
    const h = this.stack();
    h.advanceTo(p.endUs + this.s.toleranceUs, () => this.pending === undefined, () => this.sockets!.wakeAtUs);
    if (this.pending) {
      this.fail(p.ev.loc.line, `blocking ${p.ev.name}() did not return`, {
        expected: `returns at ${fmtTime(p.endUs)}`,
        actual: `still blocked at ${fmtTime(h.nowUs)}; sockets: ${this.sockets!.describe()}`,
      });
    }
  }

  private checkResult(ev: SyscallEvent, r: CallResult, doneUs: number, expectedUs: number): void {
    const tol = this.s.toleranceUs;
    if (Math.abs(doneUs - expectedUs) > tol) {
      this.fail(ev.loc.line, `${ev.name}() returned at the wrong time`, {
        expected: `returns at ${fmtTime(expectedUs)} (±${tol} µs)`,
        actual: `returned ${r.ret}${r.errno ? ` ${r.errno}` : ''} at ${fmtTime(doneUs)}`,
      });
    }
    let want: number | undefined;
    try {
      want = evalExpr(ev.result);
    } catch (e) {
      if (e instanceof SyscallError) this.fail(ev.loc.line, e.message);
      throw e;
    }
    const actualText = `${r.ret}${r.errno ? ` ${r.errno}` : ''}`;
    const wantText = `${describeExpr(ev.result)}${ev.errno ? ` ${ev.errno.name}` : ''}`;
    if (want !== undefined && want !== r.ret) {
      this.fail(ev.loc.line, `${ev.name}() returned ${actualText}, expected ${wantText}`, { expected: wantText, actual: actualText });
    }
    if (ev.errno && errnoNumber(ev.errno.name) === undefined) {
      this.fail(ev.loc.line, `unknown errno name ${ev.errno.name}`);
    }
    if (ev.errno && (r.errno === undefined || errnoNumber(r.errno) !== errnoNumber(ev.errno.name))) {
      this.fail(ev.loc.line, `${ev.name}() errno is ${r.errno ?? 'none'}, expected ${ev.errno.name}`, { expected: wantText, actual: actualText });
    }
    if (!ev.errno && r.ret === -1 && want === -1) {
      this.warnings.push(`line ${ev.loc.line}: ${ev.name}() = -1 without an errno in the script (actual errno ${r.errno})`);
    }
    if (r.mismatch) this.fail(ev.loc.line, `${ev.name}() output differs: ${r.mismatch}`);
  }

  // ---- inbound ----

  private inject(ev: PacketEvent): void {
    const h = this.stack();
    const s = this.s;
    const p = ev.packet;
    let l4: Uint8Array;
    let proto: number;
    if (p.proto === 'tcp') {
      proto = IPPROTO_TCP;
      l4 = this.buildInboundTcp(ev, p);
    } else if (p.proto === 'udp') {
      proto = IPPROTO_UDP;
      l4 = buildUdp(s.remoteIp, s.localIp, ev.ports?.src ?? this.remotePort, ev.ports?.dst ?? this.localPort, new Uint8Array(p.len));
    } else {
      proto = IPPROTO_ICMP;
      const type = ICMP_TYPES[p.type];
      if (type === undefined) this.fail(ev.loc.line, `unknown ICMP type ${p.type} (known: ${Object.keys(ICMP_TYPES).join(', ')})`);
      let code = 0;
      if (p.code !== undefined) {
        const c = type === 3 ? ICMP_UNREACH_CODES[p.code] : Number.isFinite(Number(p.code)) ? Number(p.code) : undefined;
        if (c === undefined) this.fail(ev.loc.line, `unknown ICMP code ${p.code} (known: ${Object.keys(ICMP_UNREACH_CODES).join(', ')})`);
        code = c;
      }
      let body = new Uint8Array(0);
      if (p.echoed) {
        const inner = p.echoed.proto === 'tcp'
          ? buildTcp(s.localIp, s.remoteIp, {
            srcPort: this.localPort, dstPort: this.remotePort, seq: (p.echoed.seq + this.liveLocalIsn - this.scriptLocalIsn) >>> 0,
            ack: 0, flags: TcpFlag.ACK, win: 0,
          }).subarray(0, 8)
          : buildUdp(s.localIp, s.remoteIp, this.localPort, this.remotePort, new Uint8Array(p.echoed.len)).subarray(0, 8);
        const ipHdr = buildIpv4(s.localIp, s.remoteIp, p.echoed.proto === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP,
          new Uint8Array(p.echoed.proto === 'tcp' ? 20 + p.echoed.len : 8 + p.echoed.len), { id: 0 }).subarray(0, 20);
        body = new Uint8Array(28);
        body.set(ipHdr, 0);
        body.set(inner, 20);
      }
      l4 = buildIcmp(type, code, p.mtu !== undefined ? p.mtu : 0, body);
    }
    let tos = 0;
    if (ev.ecn) {
      if (ev.ecn === 'ect01') this.fail(ev.loc.line, '[ect01] can only be used with outbound packets');
      tos = ECN_BITS[ev.ecn];
    }
    const ip = buildIpv4(s.remoteIp, s.localIp, proto, l4, { id: this.ipId++, tos });
    h.inject(buildEthernet(LOCAL_MAC, PEER_MAC, ETH_IPV4, ip, { padTo: ETH_MIN_FRAME }));
  }

  private buildInboundTcp(ev: PacketEvent, p: TcpPacket): Uint8Array {
    const s = this.s;
    const flags = flagsFromLetters(p.flags);
    const ackOffset = (this.liveLocalIsn - this.scriptLocalIsn) >>> 0;
    const hasAck = (flags & TcpFlag.ACK) !== 0;
    if ((flags & TcpFlag.SYN) && !hasAck) this.learnIsn = true;
    const options = (p.options ?? []).map((o): TcpOption => {
      if (o.kind === 'sack') return { kind: 'sack', blocks: o.blocks.map(([l, r]) => [(l + ackOffset) >>> 0, (r + ackOffset) >>> 0]) };
      if (o.kind === 'TS' && hasAck) return { kind: 'TS', val: o.val, ecr: this.liveEcr(ev, o.ecr) };
      return o;
    });
    return buildTcp(s.remoteIp, s.localIp, {
      srcPort: ev.ports?.src ?? this.remotePort,
      dstPort: ev.ports?.dst ?? this.localPort,
      seq: p.seq,
      ack: hasAck ? ((p.ack ?? 0) + ackOffset) >>> 0 : (p.ack ?? 0),
      flags,
      win: p.win ?? 0,
      urg: p.urg,
      options: encodeTcpOptions(options),
      payload: new Uint8Array(p.len),
    });
  }

  /** The live TS val that a script TS ecr stands for. */
  private liveEcr(ev: PacketEvent, ecr: number): number {
    const exact = this.tsValMap.get(ecr);
    if (exact !== undefined) return exact;
    if (this.firstTs) return (ecr - this.firstTs.script + this.firstTs.live) >>> 0;
    if (ecr === 0) return 0;
    this.fail(ev.loc.line, `unable to infer live TS ecr for script TS ecr ${ecr}: no outbound TS val seen yet`);
  }

  // ---- outbound ----

  private expectOutbound(ev: PacketEvent): void {
    const h = this.stack();
    const tol = this.s.toleranceUs;
    let lo: number, hi: number, scriptUs: number | undefined;
    switch (ev.time.kind) {
      case 'any': lo = -Infinity; hi = Infinity; break;
      case 'absolute': lo = ev.time.us - tol; hi = ev.time.us + tol; scriptUs = ev.time.us; break;
      case 'relative': scriptUs = this.lastEventUs + ev.time.us; lo = scriptUs - tol; hi = scriptUs + tol; break;
      case 'absoluteRange': lo = ev.time.us - tol; hi = ev.time.endUs + tol; break;
      case 'relativeRange': lo = this.lastEventUs + ev.time.us - tol; hi = this.lastEventUs + ev.time.endUs + tol; break;
    }
    if (this.pending && this.pending.endUs + tol < lo) this.finishPending();
    if (h.outbound.length === 0) {
      const limit = hi === Infinity ? this.timeLimitForAny(h) : hi;
      h.advanceTo(limit, () => h.outbound.length > 0, () => this.sockets!.wakeAtUs);
    }
    const expectedText = this.describeExpected(ev);
    if (h.outbound.length === 0) {
      this.fail(ev.loc.line, 'expected outbound packet did not come', {
        expected: `${scriptUs !== undefined ? fmtTime(scriptUs) : `${fmtTime(Math.max(0, lo + tol))}~${hi === Infinity ? 'any time' : fmtTime(hi - tol)}`} ${expectedText}`,
        actual: `nothing sent by ${fmtTime(h.nowUs)}`,
      });
    }
    const frame = h.outbound.shift()!;
    if (frame.timeUs < lo || frame.timeUs > hi) {
      this.fail(ev.loc.line, 'outbound packet at the wrong time', {
        expected: `${scriptUs !== undefined ? fmtTime(scriptUs) : `${fmtTime(lo + tol)}~${fmtTime(hi - tol)}`} (±${tol} µs) ${expectedText}`,
        actual: `${fmtTime(frame.timeUs)} ${this.describeFrame(decodeFrame(frame.bytes))}`,
      });
    }
    this.checkFrame(ev, frame, expectedText);
    this.lastEventUs = scriptUs !== undefined ? scriptUs : frame.timeUs;
  }

  /** How long a `*` outbound line may wait: the stack's own timers decide, up to a day. */
  private timeLimitForAny(h: StackHarness): number { return h.nowUs + 86_400e6; }

  private checkFrame(ev: PacketEvent, frame: CapturedFrame, expectedText: string): void {
    const d = decodeFrame(frame.bytes);
    // Described when needed, after the ISN mapping below has been learned.
    const actualText = (): string => `${fmtTime(frame.timeUs)} ${this.describeFrame(d)}`;
    const mismatch = (field: string, exp: string, act: string): never =>
      this.fail(ev.loc.line, `outbound packet field ${field}: expected ${exp}, actual ${act}`, { expected: expectedText, actual: actualText() });
    const soft = (field: string, exp: string, act: string): void => {
      if (this.options.lenient) this.warnings.push(`line ${ev.loc.line}: outbound packet field ${field}: expected ${exp}, actual ${act} (--lenient)`);
      else mismatch(field, exp, act);
    };
    if (!d.ipv4) mismatch('ethertype', 'IPv4', d.error ?? `0x${d.ethertype.toString(16)}`);
    const ip = d.ipv4!;
    if (!ip.checksumOk) mismatch('ipv4_checksum', 'valid', 'bad');
    if (ip.src !== this.s.localIp || ip.dst !== this.s.remoteIp) {
      mismatch('ipv4 addresses', `${formatIpv4(this.s.localIp)} > ${formatIpv4(this.s.remoteIp)}`, `${formatIpv4(ip.src)} > ${formatIpv4(ip.dst)}`);
    }
    if (ev.ecn) {
      const want = ECN_BITS[ev.ecn!];
      const got = ip.tos & 3;
      if (want === -1 ? (got !== 1 && got !== 2) : got !== want) mismatch('ip_ecn', ev.ecn!, String(got));
    }
    const p = ev.packet;
    if (p.proto === 'udp') {
      if (!d.udp) mismatch('protocol', 'udp', String(ip.proto));
      if (!d.udp!.checksumOk) mismatch('udp_checksum', 'valid', 'bad');
      const ports = ev.ports ?? this.udpPorts;
      if (ports && (d.udp!.srcPort !== ports.src || d.udp!.dstPort !== ports.dst)) {
        mismatch('udp ports', `${ports.src} > ${ports.dst}`, `${d.udp!.srcPort} > ${d.udp!.dstPort}`);
      }
      if (d.udp!.payload.length !== p.len) mismatch('udp payload length', String(p.len), String(d.udp!.payload.length));
      return;
    }
    if (p.proto === 'icmp') {
      if (!d.icmp) mismatch('protocol', 'icmp', String(ip.proto));
      const type = ICMP_TYPES[p.type];
      if (type !== d.icmp!.type) mismatch('icmp_type', `${p.type} (${type})`, String(d.icmp!.type));
      if (p.code !== undefined) {
        const code = type === 3 ? ICMP_UNREACH_CODES[p.code] : Number(p.code);
        if (code !== d.icmp!.code) mismatch('icmp_code', `${p.code} (${code})`, String(d.icmp!.code));
      }
      if (!d.icmp!.checksumOk) mismatch('icmp_checksum', 'valid', 'bad');
      return;
    }
    if (!d.tcp) mismatch('protocol', 'tcp', d.error ?? String(ip.proto));
    const t = d.tcp!;
    if (!t.checksumOk) mismatch('tcp_checksum', 'valid', 'bad');
    const wantFlags = flagsFromLetters(p.flags);
    // The first SYN of a connection fixes the stack's ISN (packetdrill's local ISN mapping).
    if ((wantFlags & TcpFlag.SYN) && (t.flags & TcpFlag.SYN) && this.learnIsn) {
      this.scriptLocalIsn = p.seq;
      this.liveLocalIsn = t.seq;
      this.learnIsn = false;
      if (!(t.flags & TcpFlag.ACK)) { this.localPort = t.srcPort; this.remotePort = t.dstPort; }
    }
    const wantSrc = ev.ports?.src ?? this.localPort;
    const wantDst = ev.ports?.dst ?? this.remotePort;
    if (t.srcPort !== wantSrc || t.dstPort !== wantDst) mismatch('ports', `${wantSrc} > ${wantDst}`, `${t.srcPort} > ${t.dstPort}`);
    if (t.flags !== wantFlags) mismatch('tcp flags', lettersFromFlags(wantFlags), lettersFromFlags(t.flags));
    const seq = this.scriptSeq(t.seq);
    if (seq !== p.seq >>> 0) mismatch('tcp_seq', String(p.seq), String(seq));
    if (t.payload.length !== p.len) mismatch('tcp payload length', String(p.len), String(t.payload.length));
    if ((wantFlags & TcpFlag.ACK) && t.ack !== ((p.ack ?? 0) >>> 0)) mismatch('tcp_ack_seq', String(p.ack ?? 0), String(t.ack));
    if (p.urg !== undefined && t.urg !== p.urg) mismatch('tcp_urg_ptr', String(p.urg), String(t.urg));
    if (p.win !== undefined && t.win !== p.win) soft('tcp_window', String(p.win), String(t.win));
    if (p.options !== null) {
      const actual = this.scriptOptions(t.options ?? [], p.options);
      const want = formatTcpOptions(p.options.filter((o) => o.kind !== 'eol'));
      const got = formatTcpOptions(actual.filter((o) => o.kind !== 'eol'));
      if (want !== got) soft('tcp options', `<${want}>`, `<${got}>`);
    } else {
      this.scriptOptions(t.options ?? [], []);
    }
  }

  private scriptSeq(live: number): number { return (live - this.liveLocalIsn + this.scriptLocalIsn) >>> 0; }

  /** Actual options in script space: TS val mapped (and remembered for inbound ecr). */
  private scriptOptions(actual: TcpOption[], expected: TcpOption[]): TcpOption[] {
    const wantTs = expected.find((o) => o.kind === 'TS') as (TcpOption & { kind: 'TS' }) | undefined;
    return actual.map((o) => {
      if (o.kind !== 'TS') return o;
      const scriptVal = wantTs ? wantTs.val : o.val;
      if (!this.firstTs) this.firstTs = { script: scriptVal, live: o.val };
      if (wantTs) this.tsValMap.set(wantTs.val, o.val);
      // TS val is checked only with --tcp_ts_tick_usecs, as packetdrill.
      const val = this.s.tsTickUs > 0 ? (this.firstTs.script + (o.val - this.firstTs.live)) >>> 0 : scriptVal;
      return { kind: 'TS', val, ecr: o.ecr };
    });
  }

  private describeExpected(ev: PacketEvent): string {
    const p = ev.packet;
    if (p.proto === 'udp') return `udp (${p.len})`;
    if (p.proto === 'icmp') return `icmp ${p.type}${p.code ? ` ${p.code}` : ''}`;
    let s = `${p.flags || '-'} ${p.seq >>> 0}:${(p.seq + p.len) >>> 0}(${p.len})`;
    if (p.ack !== undefined) s += ` ack ${p.ack >>> 0}`;
    if (p.win !== undefined) s += ` win ${p.win}`;
    if (p.options === null) s += ' <...>';
    else if (p.options.length) s += ` <${formatTcpOptions(p.options)}>`;
    return s;
  }

  /** A frame in packetdrill's notation, in script space. */
  private describeFrame(d: DecodedFrame): string {
    if (d.tcp) {
      const t = d.tcp;
      const seq = this.scriptSeq(t.seq);
      let s = `${lettersFromFlags(t.flags)} ${seq}:${(seq + t.payload.length) >>> 0}(${t.payload.length})`;
      if (t.flags & TcpFlag.ACK) s += ` ack ${t.ack}`;
      s += ` win ${t.win}`;
      if (t.options && t.options.length) s += ` <${formatTcpOptions(t.options)}>`;
      if (t.optionsError) s += ` <bad options: ${t.optionsError}>`;
      return `${s} (ports ${t.srcPort} > ${t.dstPort})`;
    }
    if (d.udp) return `udp (${d.udp.payload.length}) (ports ${d.udp.srcPort} > ${d.udp.dstPort})`;
    if (d.icmp) return `icmp type ${d.icmp.type} code ${d.icmp.code}`;
    if (d.ipv4) return `ipv4 protocol ${d.ipv4.proto}`;
    return d.error ?? `ethertype 0x${d.ethertype.toString(16)}`;
  }
}

let cachedKeys: readonly string[] | undefined;
/** Config keys of the stack build, read before this script's instance exists (sysctl lines come first). */
function probeConfigKeys(debug?: boolean): readonly string[] {
  cachedKeys ??= new StackInstance({ debug }).configKeys;
  return cachedKeys;
}

/** One line per traced frame, in packetdrill-like notation with live numbers (for --trace). */
export function formatTrace(trace: NonNullable<ScriptResult['trace']>): string[] {
  return trace.map((f) => {
    const d = decodeFrame(f.bytes);
    let text: string;
    if (d.arp) {
      text = d.arp.op === 1 ? `arp who-has ${formatIpv4(d.arp.targetIp)} tell ${formatIpv4(d.arp.senderIp)}` : `arp reply ${formatIpv4(d.arp.senderIp)} is-at ${formatMac(d.arp.senderMac)}`;
    }
    else if (d.tcp) {
      const t = d.tcp;
      text = `${t.srcPort} > ${t.dstPort} ${lettersFromFlags(t.flags)} ${t.seq}:${(t.seq + t.payload.length) >>> 0}(${t.payload.length})` +
        `${t.flags & TcpFlag.ACK ? ` ack ${t.ack}` : ''} win ${t.win}${t.options?.length ? ` <${formatTcpOptions(t.options)}>` : ''}`;
    } else if (d.udp) text = `udp ${d.udp.srcPort} > ${d.udp.dstPort} (${d.udp.payload.length})`;
    else if (d.icmp) text = `icmp type ${d.icmp.type} code ${d.icmp.code}`;
    else text = d.error ?? 'frame';
    return `${fmtTime(f.timeUs)} ${f.dir === 'in' ? '<' : '>'} ${text}`;
  });
}
