// Parser for packetdrill's script language (the grammar of google/packetdrill's parser.y,
// re-expressed as recursive descent over the tokens of lexer.ts).
//
// Guarantees: `parseScript` either returns a complete Script or throws a ScriptSyntaxError
// whose message is "file:line:column: expected <what>, found <token>" (or names the semantic
// rule broken, e.g. an inconsistent `start:end(len)`); nothing is executed while parsing.
// The rules packetdrill enforces at parse time are enforced here too: inbound TCP segments
// must carry `win`, `<...>` (unchecked options) and the `*` / range event times are for
// outbound packets only, and a time range may not run backwards.

import type {
  EcnSpec, Expr, IcmpPacket, Loc, PacketEvent, Script, ScriptEvent, ScriptOption, SyscallEvent,
  TcpOption, TcpPacket, TimeSpec, UdpPacket,
} from './ast.js';
import { ScriptSyntaxError, describeToken, tokenize, type Token } from './lexer.js';

const TCP_FLAG_LETTERS = 'FSRP.UEWA';
const ECN_WORDS: Record<string, EcnSpec> = { noecn: 'noecn', ect0: 'ect0', ect1: 'ect1', ce: 'ce', ect01: 'ect01' };

export function parseScript(text: string, file = '<script>'): Script {
  return new Parser(text, file).script();
}

class Parser {
  private readonly toks: Token[];
  private pos = 0;
  private readonly lines: string[];

  constructor(text: string, private readonly file: string) {
    this.toks = tokenize(text, file);
    this.lines = text.split('\n');
  }

  // ---- token helpers ----

  private peek(k = 0): Token { return this.toks[Math.min(this.pos + k, this.toks.length - 1)]; }
  private next(): Token { const t = this.peek(); if (t.kind !== 'eof') this.pos++; return t; }
  private isPunct(p: string, k = 0): boolean { const t = this.peek(k); return t.kind === 'punct' && t.text === p; }
  private isWord(w: string, k = 0): boolean { const t = this.peek(k); return t.kind === 'word' && t.text === w; }

  private fail(what: string, t: Token = this.peek()): never {
    throw new ScriptSyntaxError(this.file, t.line, t.column, `expected ${what}, found ${describeToken(t)}`);
  }
  private semantic(message: string, loc: Loc): never {
    throw new ScriptSyntaxError(this.file, loc.line, loc.column, message);
  }
  private expectPunct(p: string, what = `'${p}'`): Token {
    if (!this.isPunct(p)) this.fail(what);
    return this.next();
  }
  private expectWord(w: string): Token {
    if (!this.isWord(w)) this.fail(`'${w}'`);
    return this.next();
  }
  private expectInt(what: string): Token {
    const t = this.peek();
    if (t.kind !== 'int') this.fail(what);
    return this.next();
  }
  private u32(what: string): number {
    const t = this.expectInt(what);
    if (t.value < 0 || t.value > 0xffffffff) this.semantic(`${what} out of range (0..4294967295): ${t.text}`, t);
    return t.value;
  }
  private u16(what: string): number {
    const t = this.expectInt(what);
    if (t.value < 0 || t.value > 0xffff) this.semantic(`${what} out of range (0..65535): ${t.text}`, t);
    return t.value;
  }
  private u8(what: string): number {
    const t = this.expectInt(what);
    if (t.value < 0 || t.value > 0xff) this.semantic(`${what} out of range (0..255): ${t.text}`, t);
    return t.value;
  }
  private loc(t: Token): Loc { return { line: t.line, column: t.column }; }
  private sourceLine(line: number): string { return (this.lines[line - 1] ?? '').trim(); }

  private atTime(): boolean {
    const t = this.peek();
    return t.kind === 'int' || t.kind === 'float' || this.isPunct('+') || this.isPunct('*');
  }

  // ---- script ----

  script(): Script {
    const options: ScriptOption[] = [];
    while (this.peek().kind === 'option') {
      const t = this.next();
      const eq = t.text.indexOf('=');
      options.push(eq < 0 ? { name: t.text, loc: this.loc(t) } : { name: t.text.slice(0, eq), value: t.text.slice(eq + 1), loc: this.loc(t) });
    }
    const script: Script = { file: this.file, options, events: [] };
    if (this.peek().kind === 'backquote') {
      const t = this.next();
      script.initCommand = { command: t.text, loc: this.loc(t) };
    }
    while (this.peek().kind !== 'eof') {
      if (this.peek().kind === 'backquote' && this.peek(1).kind === 'eof') {
        const t = this.next();
        script.cleanupCommand = { command: t.text, loc: this.loc(t) };
        break;
      }
      if (this.peek().kind === 'option') this.fail('an event (options are only allowed at the top of the script)');
      script.events.push(this.event());
    }
    if (script.events.length === 0) this.fail('at least one event (a time followed by a packet, a system call or a `command`)');
    return script;
  }

  private event(): ScriptEvent {
    const start = this.peek();
    if (!this.atTime()) this.fail('an event time (like 0.100, +0.1, * or 0.1~0.2)');
    const time = this.time();
    const loc = this.loc(start);
    const source = this.sourceLine(start.line);
    const t = this.peek();
    let ev: ScriptEvent;
    if (this.isPunct('<') || this.isPunct('>')) {
      ev = this.packet(time, loc, source);
    } else if (t.kind === 'backquote') {
      this.next();
      ev = { type: 'command', loc, time, command: t.text, source };
    } else if (t.kind === 'code') {
      this.next();
      ev = { type: 'code', loc, time, source };
    } else if (t.kind === 'ellipsis' || t.kind === 'word') {
      ev = this.syscall(time, loc, source);
    } else {
      this.fail("a packet ('<' or '>'), a system call, or a `command` after the event time");
    }
    const outboundPacket = ev.type === 'packet' && ev.direction === 'outbound';
    if (time.kind === 'any' && !outboundPacket) this.semantic('event time * can only be used with outbound packets', loc);
    if ((time.kind === 'absoluteRange' || time.kind === 'relativeRange') && !outboundPacket) {
      this.semantic('event time range can only be used with outbound packets', loc);
    }
    return ev;
  }

  private seconds(): number {
    const t = this.peek();
    if (t.kind !== 'int' && t.kind !== 'float') this.fail('a time in seconds');
    this.next();
    if (t.value < 0) this.semantic('negative time', this.loc(t));
    return Math.round(t.value * 1e6);
  }

  private time(): TimeSpec {
    if (this.isPunct('*')) { this.next(); return { kind: 'any' }; }
    if (this.isPunct('+')) {
      this.next();
      const us = this.seconds();
      if (this.isPunct('~')) {
        const tilde = this.next();
        this.expectPunct('+', "'+' (a relative range is written +a~+b)");
        const endUs = this.seconds();
        if (endUs < us) this.semantic('time range is backwards', this.loc(tilde));
        return { kind: 'relativeRange', us, endUs };
      }
      return { kind: 'relative', us };
    }
    const us = this.seconds();
    if (this.isPunct('~')) {
      const tilde = this.next();
      const endUs = this.seconds();
      if (endUs < us) this.semantic('time range is backwards', this.loc(tilde));
      return { kind: 'absoluteRange', us, endUs };
    }
    return { kind: 'absolute', us };
  }

  // ---- packets ----

  private packet(time: TimeSpec, loc: Loc, source: string): PacketEvent {
    const dirTok = this.next();
    const direction = dirTok.text === '<' ? 'inbound' : 'outbound';
    const ev: PacketEvent = { type: 'packet', loc, time, direction, packet: undefined as unknown as TcpPacket, source };
    if (this.isPunct('[') || (this.isPunct('(') && this.peek(1).kind === 'word')) {
      this.ipInfo(ev);
    }
    if (this.isWord('udp')) {
      this.next();
      if (this.peek().kind === 'int') ev.ports = this.ports();
      this.expectPunct('(', "'(' before the UDP payload length");
      const len = this.u16('UDP payload size');
      this.expectPunct(')');
      ev.packet = { proto: 'udp', len } satisfies UdpPacket;
      return ev;
    }
    if (this.isWord('icmp')) {
      this.next();
      ev.packet = this.icmp();
      return ev;
    }
    if (this.peek().kind === 'int') ev.ports = this.ports();
    ev.packet = this.tcp(direction, loc);
    return ev;
  }

  private ipInfo(ev: PacketEvent): void {
    const open = this.next();
    const close = open.text === '[' ? ']' : ')';
    for (;;) {
      const t = this.peek();
      if (t.kind === 'word' && ECN_WORDS[t.text]) { this.next(); ev.ecn = ECN_WORDS[t.text]; }
      else this.fail(`an ECN codepoint (${Object.keys(ECN_WORDS).join(', ')})`);
      if (this.isPunct(',')) { this.next(); continue; }
      break;
    }
    this.expectPunct(close);
  }

  private ports(): { src: number; dst: number } {
    const src = this.u16('source port');
    this.expectPunct('>', "'>' between source and destination ports");
    const dst = this.u16('destination port');
    return { src, dst };
  }

  private tcp(direction: 'inbound' | 'outbound', loc: Loc): TcpPacket {
    const flags = this.flags();
    const seqTok = this.peek();
    const seq = this.u32('TCP start sequence number');
    this.expectPunct(':', "':' in start:end(length)");
    const end = this.u32('TCP end sequence number');
    this.expectPunct('(', "'(' in start:end(length)");
    const len = this.u16('TCP payload size');
    this.expectPunct(')', "')' in start:end(length)");
    if (((seq + len) >>> 0) !== end) {
      this.semantic(`inconsistent TCP sequence numbers and payload size: ${seq}:${end}(${len}) (end must be start + length)`, this.loc(seqTok));
    }
    const pkt: TcpPacket = { proto: 'tcp', flags, seq, len, options: [] };
    for (;;) {
      if (this.isWord('ack')) { this.next(); pkt.ack = this.u32('TCP ack sequence number'); continue; }
      if (this.isWord('win')) { this.next(); pkt.win = this.u16('TCP window value'); continue; }
      if (this.isWord('urg')) { this.next(); pkt.urg = this.u16('urg_ptr value'); continue; }
      break;
    }
    if (this.isPunct('<')) {
      const lt = this.next();
      if (this.peek().kind === 'ellipsis') {
        this.next();
        this.expectPunct('>', "'>' after <...");
        if (direction !== 'outbound') this.semantic('<...> for TCP options can only be used with outbound packets', this.loc(lt));
        pkt.options = null;
      } else {
        pkt.options = this.tcpOptions();
      }
    }
    if (direction === 'inbound' && pkt.win === undefined) this.semantic('window must be specified for inbound packets (add `win N`)', loc);
    return pkt;
  }

  private flags(): string {
    const t = this.peek();
    if (this.isPunct('.')) { this.next(); return '.'; }
    if (this.isPunct('-')) { this.next(); return ''; }
    if (t.kind !== 'word') this.fail("TCP flags (S, ., P., F., R, ... or '-' for none)");
    this.next();
    for (const ch of t.text) {
      if (!TCP_FLAG_LETTERS.includes(ch)) {
        this.semantic(`unknown TCP flag '${ch}' in '${t.text}' (flags are F S R P . U E W A)`, this.loc(t));
      }
    }
    let flags = t.text;
    if (this.isPunct('.')) { this.next(); flags += '.'; }
    return flags;
  }

  private tcpOptions(): TcpOption[] {
    const opts: TcpOption[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'word') this.fail('a TCP option (mss, nop, eol, wscale, sackOK, sack, TS, FO)');
      this.next();
      switch (t.text) {
        case 'nop': opts.push({ kind: 'nop' }); break;
        case 'eol': opts.push({ kind: 'eol' }); break;
        case 'mss': opts.push({ kind: 'mss', value: this.u16('mss value') }); break;
        case 'wscale': opts.push({ kind: 'wscale', value: this.u8('window scale shift count') }); break;
        case 'sackOK': opts.push({ kind: 'sackOK' }); break;
        case 'sack': {
          const blocks: Array<[number, number]> = [];
          while (this.peek().kind === 'int') {
            const left = this.u32('TCP SACK left sequence number');
            this.expectPunct(':', "':' in a SACK block left:right");
            const right = this.u32('TCP SACK right sequence number');
            blocks.push([left, right]);
          }
          if (blocks.length === 0) this.fail('a SACK block left:right');
          if (blocks.length > 4) this.semantic('at most 4 SACK blocks fit in the TCP options', this.loc(t));
          opts.push({ kind: 'sack', blocks });
          break;
        }
        case 'TS': {
          this.expectWord('val');
          const val = this.u32('ts val');
          this.expectWord('ecr');
          const ecr = this.u32('ecr val');
          opts.push({ kind: 'TS', val, ecr });
          break;
        }
        case 'FO': {
          // TCP Fast Open (RFC 7413 4.1.1): `FO` alone is a cookie request, `FO <hex>` a cookie
          // (the lexer may split the hex digits into a number and a word: they are joined).
          let hex = '';
          while (this.peek().kind === 'int' || this.peek().kind === 'word') hex += this.next().text;
          if (!/^([0-9a-fA-F]{2}){0,16}$/.test(hex) || (hex.length > 0 && hex.length < 8)) {
            this.semantic(`a Fast Open cookie is 4 to 16 bytes of hex digits, got '${hex}'`, this.loc(t));
          }
          opts.push({ kind: 'FO', cookie: hex.toLowerCase() });
          break;
        }
        default:
          this.semantic(`unsupported TCP option '${t.text}' (supported: mss, nop, eol, wscale, sackOK, sack, TS, FO)`, this.loc(t));
      }
      if (this.isPunct(',')) { this.next(); continue; }
      this.expectPunct('>', "',' or '>' in the TCP option list");
      return opts;
    }
  }

  private icmp(): IcmpPacket {
    const typeTok = this.peek();
    if (typeTok.kind !== 'word') this.fail('an ICMP type (echo_reply, unreachable, echo_request, time_exceeded, ...)');
    this.next();
    const pkt: IcmpPacket = { proto: 'icmp', type: typeTok.text };
    if (this.peek().kind === 'word' && !this.isWord('mtu') && !this.isWord('id')) pkt.code = this.next().text;
    if (this.isWord('mtu')) { this.next(); pkt.mtu = this.u16('ICMP MTU'); }
    if (this.isWord('id')) { this.next(); this.u16('ICMP echo id'); }
    if (this.isPunct('[')) {
      this.next();
      if (this.isWord('udp')) {
        this.next();
        this.expectPunct('(');
        const len = this.u16('UDP payload size');
        this.expectPunct(')');
        pkt.echoed = { proto: 'udp', len };
      } else {
        const seqTok = this.peek();
        const seq = this.u32('echoed TCP start sequence number');
        this.expectPunct(':');
        const end = this.u32('echoed TCP end sequence number');
        this.expectPunct('(');
        const len = this.u16('echoed TCP payload size');
        this.expectPunct(')');
        if (((seq + len) >>> 0) !== end) this.semantic('inconsistent TCP sequence numbers and payload size', this.loc(seqTok));
        pkt.echoed = { proto: 'tcp', seq, len };
      }
      this.expectPunct(']');
    }
    return pkt;
  }

  // ---- system calls ----

  private syscall(time: TimeSpec, loc: Loc, source: string): SyscallEvent {
    let endUs: number | undefined;
    if (this.peek().kind === 'ellipsis') {
      this.next();
      endUs = this.seconds();
    }
    const nameTok = this.peek();
    if (nameTok.kind !== 'word') this.fail('a system call name');
    this.next();
    this.expectPunct('(', `'(' after ${nameTok.text}`);
    const args: Expr[] = [];
    if (!this.isPunct(')')) {
      for (;;) {
        args.push(this.expr());
        if (this.isPunct(',')) { this.next(); continue; }
        break;
      }
    }
    this.expectPunct(')', "',' or ')' in the argument list");
    this.expectPunct('=', `'=' and the expected return value after ${nameTok.text}(...)`);
    const result = this.expr();
    const ev: SyscallEvent = { type: 'syscall', loc, time, name: nameTok.text, args, result, source };
    if (endUs !== undefined) ev.endUs = endUs;
    if (this.peek().kind === 'word') {
      const errTok = this.next();
      const text = this.isPunct('(') ? this.note() : '';
      ev.errno = { name: errTok.text, text };
    } else if (this.isPunct('(')) {
      this.note();
    }
    return ev;
  }

  /** A parenthesised free-text note such as "(Operation now in progress)". */
  private note(): string {
    const open = this.expectPunct('(');
    const words: string[] = [];
    let depth = 1;
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof') this.semantic("unterminated note (expected ')')", this.loc(open));
      this.next();
      if (t.kind === 'punct' && t.text === '(') depth++;
      if (t.kind === 'punct' && t.text === ')' && --depth === 0) break;
      words.push(t.text);
    }
    return words.join(' ');
  }

  private expr(): Expr {
    let lhs = this.primary();
    while (this.isPunct('|')) {
      const bar = this.next();
      const rhs = this.primary();
      lhs = { kind: 'or', lhs, rhs, loc: this.loc(bar) };
    }
    return lhs;
  }

  private primary(): Expr {
    const t = this.peek();
    const loc = this.loc(t);
    switch (t.kind) {
      case 'ellipsis': this.next(); return { kind: 'ellipsis', loc };
      case 'int': this.next(); return { kind: 'int', value: t.value, loc };
      case 'string': {
        let value = '';
        while (this.peek().kind === 'string') value += this.next().text;
        let trailingEllipsis = false;
        if (this.peek().kind === 'ellipsis') { this.next(); trailingEllipsis = true; }
        return { kind: 'string', value, trailingEllipsis, loc };
      }
      case 'word': {
        this.next();
        if (this.isPunct('(')) {
          this.next();
          const args: Expr[] = [];
          if (!this.isPunct(')')) {
            for (;;) {
              args.push(this.expr());
              if (this.isPunct(',')) { this.next(); continue; }
              break;
            }
          }
          this.expectPunct(')', `',' or ')' in ${t.text}(...)`);
          return { kind: 'call', name: t.text, args, loc };
        }
        if (this.isPunct('=')) {
          this.next();
          return { kind: 'assign', name: t.text, value: this.expr(), loc };
        }
        return { kind: 'word', name: t.text, loc };
      }
      case 'punct':
        if (t.text === '[' || t.text === '{') {
          this.next();
          const close = t.text === '[' ? ']' : '}';
          const items: Expr[] = [];
          if (!this.isPunct(close)) {
            for (;;) {
              items.push(this.expr());
              if (this.isPunct(',')) { this.next(); continue; }
              break;
            }
          }
          this.expectPunct(close, `',' or '${close}'`);
          return t.text === '[' ? { kind: 'list', items, loc } : { kind: 'struct', items, loc };
        }
        break;
      default:
        break;
    }
    this.fail('an expression (a number, ..., a name, a "string", [list] or {struct})');
  }
}
