// System calls of a script mapped onto the stack's socket ABI (assembly/tcp/api.ts header):
// a file-descriptor table of sockets, each backed by a TCP handle once it listens or
// connects.
//
// Guarantees: every call answers with (return value, errno name) exactly as Linux would
// report it to a C program, or "would block" for a blocking socket, in which case the runner
// retries it after every stack burst until it completes; output arguments (getsockopt values,
// poll revents) are compared with the script's and a mismatch is reported with the call.
// Options the stack's ABI cannot express are accepted and named in a warning, never dropped
// silently. Nothing here reads a clock: time is the harness's. SO_SNDBUF/SO_RCVBUF size the
// rings of connections created afterwards, and getsockopt reports the size set (Linux reports
// double, for its bookkeeping overhead).

import { constants as osConstants } from 'node:os';
import type { Expr, SyscallEvent } from './ast.js';
import type { StackHarness } from './harness.js';
import { InfoFlag, TcpOption, tcpInfoOrClosed, tcpExports, type TcpExports, type TcpInfo } from '../net/tcp-abi.js';

/** Linux constants a script may name. */
export const SYMBOLS: Record<string, number> = {
  AF_INET: 2, AF_INET6: 10, PF_INET: 2,
  SOCK_STREAM: 1, SOCK_DGRAM: 2, SOCK_NONBLOCK: 0x800, SOCK_CLOEXEC: 0x80000,
  IPPROTO_IP: 0, IPPROTO_TCP: 6, IPPROTO_UDP: 17, IPPROTO_ICMP: 1,
  SOL_SOCKET: 1, SOL_TCP: 6, SOL_IP: 0,
  SO_REUSEADDR: 2, SO_ERROR: 4, SO_SNDBUF: 7, SO_RCVBUF: 8, SO_KEEPALIVE: 9, SO_LINGER: 13, SO_REUSEPORT: 15,
  TCP_NODELAY: 1, TCP_MAXSEG: 2, TCP_KEEPIDLE: 4, TCP_KEEPINTVL: 5, TCP_KEEPCNT: 6, TCP_USER_TIMEOUT: 18, TCP_FASTOPEN: 23, TCP_FASTOPEN_CONNECT: 30,
  F_GETFL: 3, F_SETFL: 4, O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_NONBLOCK: 0x800,
  POLLIN: 0x1, POLLPRI: 0x2, POLLOUT: 0x4, POLLERR: 0x8, POLLHUP: 0x10, POLLNVAL: 0x20,
  POLLRDNORM: 0x40, POLLRDBAND: 0x80, POLLWRNORM: 0x100, POLLWRBAND: 0x200, POLLRDHUP: 0x2000,
  SHUT_RD: 0, SHUT_WR: 1, SHUT_RDWR: 2,
  MSG_DONTWAIT: 0x40, MSG_NOSIGNAL: 0x4000,
  INADDR_ANY: 0,
};

const ERRNO: Record<string, number> = osConstants.errno as unknown as Record<string, number>;
/** Number to name, keeping the first (canonical) name where two share a number (EAGAIN/EWOULDBLOCK). */
const ERRNO_NAME = new Map<number, string>();
for (const [k, v] of Object.entries(ERRNO)) if (!ERRNO_NAME.has(v)) ERRNO_NAME.set(v, k);
export function errnoName(n: number): string { return ERRNO_NAME.get(n) ?? `errno ${n}`; }
/** The number of an errno name, or undefined. */
export function errnoNumber(name: string): number | undefined { return ERRNO[name]; }

export interface CallResult { ret: number; errno?: string; mismatch?: string }
/** undefined: the call would block (the runner retries it). */
export type Attempt = () => CallResult | undefined;

export interface SyscallContext {
  localIp: number;
  remoteIp: number;
  bindPort: number;
  connectPort: number;
  warn(message: string): void;
  /** A UDP datagram was handed to the stack: its ports, for checking the outbound line. */
  udpSent(srcPort: number, dstPort: number): void;
}

/** The stack's UDP socket ABI (assembly/udp/api.ts header). */
interface UdpAbi {
  udpOpen(): number;
  udpBind(h: number, port: number): number;
  udpSendTo(h: number, port: number, len: number): number;
  udpRecvFrom(h: number): number;
  udpPending(h: number): number;
  udpLocalPort(h: number): number;
  udpClose(h: number): number;
  udpAddrPtr(): number;
  udpBufferPtr(): number;
  udpBufferSize(): number;
}
const UDP_EXPORTS: ReadonlyArray<keyof UdpAbi> = [
  'udpOpen', 'udpBind', 'udpSendTo', 'udpRecvFrom', 'udpPending', 'udpLocalPort', 'udpClose', 'udpAddrPtr', 'udpBufferPtr', 'udpBufferSize',
];

type Info = TcpInfo;

interface Sock {
  fd: number;
  kind: 'tcp' | 'udp';
  nonblock: boolean;
  bound?: { addr: number; port: number };
  handle: number;
  role: 'new' | 'listener' | 'connection';
  /** The pending error has been reported once (Linux clears sk_err when it reports it). */
  errorReported: boolean;
  /** shutdown(SHUT_RD or SHUT_RDWR) was called: read() returns 0 (end of file), as Linux. */
  readShut: boolean;
  /** UDP: the default destination set by connect(). */
  udpPeer?: { addr: number; port: number };
  /** TCP_FASTOPEN_CONNECT: the destination of a connect() whose SYN waits for the first write. */
  deferredConnect?: { addr: number; port: number };
  opts: {
    reuseaddr: number; sndbuf: number; rcvbuf: number; keepalive: number; keepidle: number; keepintvl: number;
    keepcnt: number; nodelay: number; maxseg: number; userTimeout: number; linger: { onoff: number; linger: number };
    /** TCP_FASTOPEN queue length of a listener (RFC 7413 5.1), 0 = off. */
    fastOpen: number;
    /** TCP_FASTOPEN_CONNECT (RFC 7413 4.1.3 client): connect() returns at once, the SYN leaves with the first write. */
    fastOpenConnect: number;
  };
}

export class SocketTable {
  private readonly socks = new Map<number, Sock>();
  private readonly tcp: TcpExports;

  constructor(private readonly h: StackHarness, private readonly ctx: SyscallContext) {
    this.tcp = tcpExports(h.instance);
  }

  private udp(): UdpAbi {
    const ex = this.h.instance.exports as unknown as Record<string, unknown>;
    const missing = UDP_EXPORTS.filter((n) => typeof ex[n] !== 'function');
    if (missing.length) throw new SyscallError(`this stack build has no UDP socket ABI (missing exports: ${missing.join(', ')}): rebuild with \`npm run build:wasm\``);
    return ex as unknown as UdpAbi;
  }

  /** Writes an IPv4 address into the UDP exchange slot (::ffff:a.b.c.d). */
  private setUdpAddr(addr: number): void {
    const udp = this.udp();
    const p = udp.udpAddrPtr();
    const inst = this.h.instance;
    inst.refreshViews();
    inst.u8.fill(0, p, p + 16);
    inst.u8[p + 10] = 0xff;
    inst.u8[p + 11] = 0xff;
    inst.dv.setUint32(p + 12, addr >>> 0, false);
  }

  private udpSend(s: Sock, addr: number, port: number, len: number): CallResult {
    const udp = this.udp();
    if (len > udp.udpBufferSize()) return this.fail(ERRNO.EMSGSIZE);
    this.setUdpAddr(addr);
    const inst = this.h.instance;
    const b = udp.udpBufferPtr();
    inst.refreshViews();
    for (let i = 0; i < len; i++) inst.u8[b + i] = i & 0xff;
    const r = udp.udpSendTo(s.handle, port, len);
    if (r < 0) return this.fail(-r);
    this.ctx.udpSent(udp.udpLocalPort(s.handle), port);
    this.h.pollNow();
    return { ret: r };
  }

  private udpRecv(s: Sock, want: number, nonblock: boolean): CallResult | undefined {
    const r = this.udp().udpRecvFrom(s.handle);
    if (r === -ERRNO.EAGAIN) return nonblock ? this.fail(ERRNO.EAGAIN) : undefined;
    if (r < 0) return this.fail(-r);
    return { ret: Math.min(r, want) };
  }

  /** Starts a call; the returned attempt is run at once and, while it blocks, after every burst. */
  start(ev: SyscallEvent): Attempt {
    const args = ev.args;
    switch (ev.name) {
      case 'socket': return this.socket(args);
      case 'bind': return this.bind(args);
      case 'listen': return this.listen(args);
      case 'accept': case 'accept4': return this.accept(args);
      case 'connect': return this.connect(args);
      case 'read': case 'recv': case 'recvfrom': case 'readv': return this.read(args, ev.name);
      case 'write': case 'send': case 'sendto': case 'writev': return this.write(args, ev.name);
      case 'shutdown': return this.shutdown(args);
      case 'close': return this.close(args);
      case 'setsockopt': return this.setsockopt(args);
      case 'getsockopt': return this.getsockopt(args);
      case 'fcntl': return this.fcntl(args);
      case 'poll': return this.poll(args);
      default:
        throw new SyscallError(`unsupported system call ${ev.name}() (supported: socket, bind, listen, accept, connect, read, readv, recv, recvfrom, write, writev, send, sendto, shutdown, close, setsockopt, getsockopt, fcntl, poll)`);
    }
  }

  /** The earliest time a blocked call wants to be re-tried without any stack event (poll timeouts). */
  wakeAtUs = Infinity;

  // ---- helpers ----

  private abi(): TcpExports {
    return this.tcp;
  }

  private info(handle: number): Info {
    return tcpInfoOrClosed(this.h.instance, this.tcp, handle);
  }

  private sock(fdExpr: Expr | undefined): Sock | CallResult {
    const fd = this.num(fdExpr, 'file descriptor');
    const s = this.socks.get(fd);
    return s ?? { ret: -1, errno: 'EBADF' };
  }

  private num(e: Expr | undefined, what: string): number {
    const v = evalExpr(e);
    if (typeof v !== 'number') throw new SyscallError(`expected a number for the ${what}, got ${describeExpr(e)}`);
    return v;
  }

  private fail(errno: number): CallResult { return { ret: -1, errno: errnoName(errno) }; }

  /** Total length of an iovec list `[{..., N}, ...]` (readv/writev). */
  private iovecLength(e: Expr | undefined): number {
    if (!e || e.kind !== 'list') throw new SyscallError(`expected an iovec list like [{..., 1000}], got ${describeExpr(e)}`);
    let total = 0;
    for (const it of e.items) {
      if (it.kind !== 'struct' || it.items.length !== 2) throw new SyscallError(`expected an iovec {..., N}, got ${describeExpr(it)}`);
      total += this.num(it.items[1], 'iovec length');
    }
    return total;
  }

  /** Reports a connection's pending error once, as Linux does with sk_err. */
  private takeError(s: Sock, info: Info): CallResult | undefined {
    if (info.error !== 0 && !s.errorReported) {
      s.errorReported = true;
      return this.fail(info.error);
    }
    return undefined;
  }

  private applyOptions(s: Sock): void {
    const tcp = this.abi();
    const o = s.opts;
    tcp.tcpSetOption(s.handle, TcpOption.NODELAY, o.nodelay ? 1 : 0, 0, 0);
    if (o.keepalive) tcp.tcpSetOption(s.handle, TcpOption.KEEPALIVE, 1, o.keepidle * 1000, o.keepintvl * 1000);
    if (o.keepcnt) tcp.tcpSetOption(s.handle, TcpOption.KEEPCNT, o.keepcnt, 0, 0);
    if (o.userTimeout) tcp.tcpSetOption(s.handle, TcpOption.USER_TIMEOUT, o.userTimeout, 0, 0);
  }

  private lowestFreeFd(): number {
    let fd = 3;
    while (this.socks.has(fd)) fd++;
    return fd;
  }

  private newSock(kind: 'tcp' | 'udp', nonblock: boolean, opts?: Sock['opts']): Sock {
    const s: Sock = {
      fd: this.lowestFreeFd(), kind, nonblock, handle: -1, role: 'new', errorReported: false, readShut: false,
      opts: opts ? { ...opts, linger: { ...opts.linger } } : {
        reuseaddr: 0, sndbuf: 0, rcvbuf: 0, keepalive: 0, keepidle: 0, keepintvl: 0, keepcnt: 0, nodelay: 0, maxseg: 0,
        userTimeout: 0, linger: { onoff: 0, linger: 0 }, fastOpen: 0, fastOpenConnect: 0,
      },
    };
    this.socks.set(s.fd, s);
    return s;
  }

  private sockaddr(e: Expr | undefined, defaultAddr: number, defaultPort: number): { addr: number; port: number } {
    if (!e || e.kind === 'ellipsis') return { addr: defaultAddr, port: defaultPort };
    if (e.kind !== 'struct') throw new SyscallError(`expected a sockaddr {sa_family=AF_INET, sin_port=htons(N), sin_addr=inet_addr("a.b.c.d")} or ..., got ${describeExpr(e)}`);
    const fields = structFields(e);
    const family = fields.get('sa_family') ?? fields.get('sin_family');
    if (family !== undefined && family !== SYMBOLS.AF_INET) throw new SyscallError('only AF_INET socket addresses are supported');
    return { addr: fields.get('sin_addr') ?? 0, port: fields.get('sin_port') ?? 0 };
  }

  // ---- calls ----

  private socket(args: Expr[]): Attempt {
    return () => {
      const type = this.num(args[1], 'socket type');
      const base = type & ~(SYMBOLS.SOCK_NONBLOCK | SYMBOLS.SOCK_CLOEXEC);
      if (base === SYMBOLS.SOCK_DGRAM) {
        const h = this.udp().udpOpen();
        if (h < 0) return this.fail(-h);
        const s = this.newSock('udp', (type & SYMBOLS.SOCK_NONBLOCK) !== 0);
        s.handle = h;
        s.role = 'connection';
        return { ret: s.fd };
      }
      if (base !== SYMBOLS.SOCK_STREAM) return this.fail(ERRNO.EINVAL);
      const s = this.newSock('tcp', (type & SYMBOLS.SOCK_NONBLOCK) !== 0);
      return { ret: s.fd };
    };
  }

  private bind(args: Expr[]): Attempt {
    return () => {
      const s = this.sock(args[0]);
      if (!isSock(s)) return s;
      const a = this.sockaddr(args[1], this.ctx.localIp, this.ctx.bindPort);
      if (s.kind === 'udp') {
        this.setUdpAddr(a.addr);
        const r = this.udp().udpBind(s.handle, a.port);
        if (r < 0) return this.fail(-r);
        s.bound = a;
        return { ret: 0 };
      }
      if (s.bound || s.role !== 'new') return this.fail(ERRNO.EINVAL);
      if (a.addr !== 0 && a.addr !== this.ctx.localIp) return this.fail(ERRNO.EADDRNOTAVAIL);
      s.bound = a;
      return { ret: 0 };
    };
  }

  private listen(args: Expr[]): Attempt {
    return () => {
      const s = this.sock(args[0]);
      if (!isSock(s)) return s;
      if (s.role === 'listener') return { ret: 0 };
      if (s.role !== 'new') return this.fail(ERRNO.EINVAL);
      const backlog = Math.max(1, Math.min(65535, this.num(args[1], 'backlog')));
      const port = s.bound?.port ?? 0;
      if (port === 0) throw new SyscallError('listen() on a socket without a bound port: bind() it first (the stack has no automatic port for listeners)');
      const h = this.abi().tcpListen(s.bound?.addr ?? 0, port, backlog, 0, s.opts.sndbuf, s.opts.rcvbuf);
      if (h < 0) return this.fail(-h);
      s.handle = h;
      s.role = 'listener';
      if (s.opts.fastOpen > 0) {
        const r = this.abi().tcpListenFastOpen(h, s.opts.fastOpen);
        if (r < 0) return this.fail(-r);
      }
      return { ret: 0 };
    };
  }

  private accept(args: Expr[]): Attempt {
    return () => {
      const s = this.sock(args[0]);
      if (!isSock(s)) return s;
      if (s.role !== 'listener') return this.fail(ERRNO.EINVAL);
      const h = this.abi().tcpAccept(s.handle);
      if (h === -ERRNO.EAGAIN) return s.nonblock ? this.fail(ERRNO.EAGAIN) : undefined;
      if (h < 0) return this.fail(-h);
      const c = this.newSock('tcp', false, s.opts);
      c.handle = h;
      c.role = 'connection';
      this.applyOptions(c);
      return { ret: c.fd };
    };
  }

  private connect(args: Expr[]): Attempt {
    let started = false;
    let sockRef: Sock | undefined;
    return () => {
      if (!started) {
        started = true;
        const s = this.sock(args[0]);
        if (!isSock(s)) return s;
        sockRef = s;
        if (s.kind === 'udp') {
          s.udpPeer = this.sockaddr(args[1], this.ctx.remoteIp, this.ctx.connectPort);
          return { ret: 0 };
        }
        if (s.role === 'connection') {
          const info = this.info(s.handle);
          const err = this.takeError(s, info);
          if (err) return err;
          if (info.flags & InfoFlag.CONNECTED) return this.fail(ERRNO.EISCONN);
          return this.fail(ERRNO.EALREADY);
        }
        if (s.role === 'listener') return this.fail(ERRNO.EISCONN);
        const a = this.sockaddr(args[1], this.ctx.remoteIp, this.ctx.connectPort);
        if (s.opts.fastOpenConnect) {
          // As Linux's TCP_FASTOPEN_CONNECT: connect() succeeds at once and the connection
          // opens at the first write, whose data the SYN carries when a cookie is cached.
          if (s.deferredConnect) return this.fail(ERRNO.EALREADY);
          s.deferredConnect = a;
          return { ret: 0 };
        }
        const h = this.abi().tcpConnect(a.addr, a.port, s.bound?.port ?? 0, s.opts.sndbuf, s.opts.rcvbuf);
        if (h < 0) return this.fail(-h);
        s.handle = h;
        s.role = 'connection';
        this.applyOptions(s);
        this.h.pollNow();
        if (s.nonblock) return this.fail(ERRNO.EINPROGRESS);
      }
      const s = sockRef!;
      const info = this.info(s.handle);
      if (info.flags & InfoFlag.CONNECTED) return { ret: 0 };
      const err = this.takeError(s, info);
      if (err) return err;
      return undefined;
    };
  }

  private read(args: Expr[], name: string): Attempt {
    return () => {
      const s = this.sock(args[0]);
      if (!isSock(s)) return s;
      const want = name === 'readv' || name === 'writev' ? this.iovecLength(args[1]) : this.num(args[2], 'length');
      const flags = name === 'read' || name === 'readv' ? 0 : (evalExpr(args[3]) ?? 0) as number;
      const nonblock = s.nonblock || (flags & SYMBOLS.MSG_DONTWAIT) !== 0;
      if (s.kind === 'udp') return this.udpRecv(s, want, nonblock);
      if (s.role !== 'connection') return this.fail(ERRNO.ENOTCONN);
      if (s.readShut) return { ret: 0 };
      const tcp = this.abi();
      const info = this.info(s.handle);
      if (info.readable > 0 && want > 0) {
        let got = 0;
        while (got < want) {
          const avail = tcp.tcpReadAvail(s.handle);
          if (avail === 0) break;
          const take = Math.min(avail, want - got);
          const r = tcp.tcpReadConsume(s.handle, take);
          if (r < 0) return this.fail(-r);
          got += take;
        }
        this.h.pollNow();
        return { ret: got };
      }
      const err = this.takeError(s, info);
      if (err) return err;
      if (info.flags & (InfoFlag.PEER_FIN | InfoFlag.CLOSED)) return { ret: 0 };
      if (want === 0) return { ret: 0 };
      return nonblock ? this.fail(ERRNO.EAGAIN) : undefined;
    };
  }

  private write(args: Expr[], name: string): Attempt {
    let written = 0;
    return () => {
      const s = this.sock(args[0]);
      if (!isSock(s)) return s;
      const want = name === 'readv' || name === 'writev' ? this.iovecLength(args[1]) : this.num(args[2], 'length');
      const flags = name === 'write' || name === 'writev' ? 0 : (evalExpr(args[3]) ?? 0) as number;
      const nonblock = s.nonblock || (flags & SYMBOLS.MSG_DONTWAIT) !== 0;
      if (s.kind === 'udp') {
        const to = name === 'sendto' && args[4] && args[4].kind !== 'ellipsis'
          ? this.sockaddr(args[4], this.ctx.remoteIp, this.ctx.connectPort)
          : s.udpPeer;
        if (!to) return this.fail(ERRNO.EDESTADDRREQ);
        return this.udpSend(s, to.addr, to.port, want);
      }
      if (s.role === 'new' && s.deferredConnect) {
        // TCP_FASTOPEN_CONNECT: the deferred connect happens now, the data goes in the SYN.
        const a = s.deferredConnect;
        s.deferredConnect = undefined;
        const h = this.abi().tcpConnect(a.addr, a.port, s.bound?.port ?? 0, s.opts.sndbuf, s.opts.rcvbuf);
        if (h < 0) return this.fail(-h);
        s.handle = h;
        s.role = 'connection';
        this.applyOptions(s);
        const r = this.abi().tcpSetOption(h, TcpOption.FASTOPEN, 1, 0, 0);
        if (r < 0) return this.fail(-r);
      }
      if (s.role !== 'connection') return this.fail(s.role === 'new' ? ERRNO.EPIPE : ERRNO.ENOTCONN);
      const tcp = this.abi();
      const info = this.info(s.handle);
      const err = this.takeError(s, info);
      if (err) return err;
      // After a reported failure, or with our side shut, Linux answers EPIPE.
      if (info.error !== 0 || (info.flags & (InfoFlag.WRITE_SHUT | InfoFlag.CLOSED))) return this.fail(ERRNO.EPIPE);
      const inst = this.h.instance;
      while (written < want) {
        const room = tcp.tcpWriteRoom(s.handle);
        if (room === 0) break;
        const n = Math.min(room, want - written);
        const p = tcp.tcpWritePtr(s.handle);
        inst.refreshViews();
        for (let i = 0; i < n; i++) inst.u8[p + i] = (written + i) & 0xff;
        const r = tcp.tcpWriteCommit(s.handle, n);
        if (r < 0) return this.fail(-r);
        written += n;
      }
      this.h.pollNow();
      if (written === want) return { ret: written };
      if (nonblock) return written > 0 ? { ret: written } : this.fail(ERRNO.EAGAIN);
      return undefined;
    };
  }

  private shutdown(args: Expr[]): Attempt {
    return () => {
      const s = this.sock(args[0]);
      if (!isSock(s)) return s;
      if (s.role !== 'connection') return this.fail(ERRNO.ENOTCONN);
      const how = this.num(args[1], 'shutdown mode');
      const r = this.abi().tcpShutdown(s.handle, how);
      if (r === 0 && how !== SYMBOLS.SHUT_WR) s.readShut = true;
      this.h.pollNow();
      return r < 0 ? this.fail(-r) : { ret: 0 };
    };
  }

  private close(args: Expr[]): Attempt {
    return () => {
      const s = this.sock(args[0]);
      if (!isSock(s)) return s;
      this.socks.delete(s.fd);
      if (s.kind === 'udp') {
        const r = this.udp().udpClose(s.handle);
        return r < 0 ? this.fail(-r) : { ret: 0 };
      }
      if (s.handle >= 0) {
        const tcp = this.abi();
        const r = s.opts.linger.onoff && s.opts.linger.linger === 0 ? tcp.tcpAbort(s.handle) : tcp.tcpClose(s.handle);
        if (s.opts.linger.onoff && s.opts.linger.linger > 0) {
          this.ctx.warn(`SO_LINGER with a timeout (${s.opts.linger.linger} s) closes in the background: the stack's close does not block`);
        }
        this.h.pollNow();
        if (r < 0) return this.fail(-r);
      }
      return { ret: 0 };
    };
  }

  private setsockopt(args: Expr[]): Attempt {
    return () => {
      const s = this.sock(args[0]);
      if (!isSock(s)) return s;
      const level = this.num(args[1], 'level');
      const name = this.num(args[2], 'option name');
      const valueExpr = args[3];
      const o = s.opts;
      if (level === SYMBOLS.SOL_SOCKET && name === SYMBOLS.SO_LINGER) {
        if (!valueExpr || valueExpr.kind !== 'struct') throw new SyscallError('SO_LINGER takes {onoff=N, linger=N}');
        const f = structFields(valueExpr);
        o.linger = { onoff: f.get('onoff') ?? 0, linger: f.get('linger') ?? 0 };
        return { ret: 0 };
      }
      const v = listValue(valueExpr);
      if (v === undefined) throw new SyscallError(`setsockopt needs a value like [1], got ${describeExpr(valueExpr)}`);
      const live = s.role === 'connection' && s.handle >= 0;
      if (level === SYMBOLS.SOL_SOCKET) {
        switch (name) {
          case SYMBOLS.SO_REUSEADDR: case SYMBOLS.SO_REUSEPORT: o.reuseaddr = v; return { ret: 0 };
          case SYMBOLS.SO_SNDBUF: case SYMBOLS.SO_RCVBUF:
            if (name === SYMBOLS.SO_SNDBUF) o.sndbuf = v; else o.rcvbuf = v;
            if (s.role !== 'new') this.ctx.warn(`${name === SYMBOLS.SO_SNDBUF ? 'SO_SNDBUF' : 'SO_RCVBUF'} after listen/connect does not resize the stack's rings (sizes are fixed when the connection is created)`);
            return { ret: 0 };
          case SYMBOLS.SO_KEEPALIVE:
            o.keepalive = v ? 1 : 0;
            if (live) this.abi().tcpSetOption(s.handle, TcpOption.KEEPALIVE, o.keepalive, o.keepidle * 1000, o.keepintvl * 1000);
            return { ret: 0 };
          default: return this.fail(ERRNO.ENOPROTOOPT);
        }
      }
      if (level === SYMBOLS.IPPROTO_TCP) {
        switch (name) {
          case SYMBOLS.TCP_NODELAY:
            o.nodelay = v ? 1 : 0;
            if (live) { this.abi().tcpSetOption(s.handle, TcpOption.NODELAY, o.nodelay, 0, 0); this.h.pollNow(); }
            return { ret: 0 };
          case SYMBOLS.TCP_KEEPIDLE: case SYMBOLS.TCP_KEEPINTVL:
            if (v < 1 || v > 32767) return this.fail(ERRNO.EINVAL);
            if (name === SYMBOLS.TCP_KEEPIDLE) o.keepidle = v; else o.keepintvl = v;
            if (live && o.keepalive) this.abi().tcpSetOption(s.handle, TcpOption.KEEPALIVE, 1, o.keepidle * 1000, o.keepintvl * 1000);
            return { ret: 0 };
          case SYMBOLS.TCP_KEEPCNT:
            if (v < 1 || v > 127) return this.fail(ERRNO.EINVAL);
            o.keepcnt = v;
            if (live) this.abi().tcpSetOption(s.handle, TcpOption.KEEPCNT, v, 0, 0);
            return { ret: 0 };
          case SYMBOLS.TCP_USER_TIMEOUT:
            o.userTimeout = v;
            if (live) this.abi().tcpSetOption(s.handle, TcpOption.USER_TIMEOUT, v, 0, 0);
            return { ret: 0 };
          case SYMBOLS.TCP_FASTOPEN: {
            // Linux takes it on a socket before or after listen(); the stack on listeners.
            if (s.role === 'connection') return this.fail(ERRNO.EINVAL);
            o.fastOpen = v;
            if (s.role === 'listener') {
              const r = this.abi().tcpListenFastOpen(s.handle, v);
              if (r < 0) return this.fail(-r);
            }
            return { ret: 0 };
          }
          case SYMBOLS.TCP_FASTOPEN_CONNECT:
            if (s.role !== 'new') return this.fail(ERRNO.EINVAL);
            o.fastOpenConnect = v ? 1 : 0;
            return { ret: 0 };
          case SYMBOLS.TCP_MAXSEG:
            o.maxseg = v;
            this.ctx.warn(`TCP_MAXSEG=${v} is recorded but not applied: the stack's socket ABI has no per-socket MSS clamp`);
            return { ret: 0 };
          default: return this.fail(ERRNO.ENOPROTOOPT);
        }
      }
      return this.fail(ERRNO.ENOPROTOOPT);
    };
  }

  private getsockopt(args: Expr[]): Attempt {
    return () => {
      const s = this.sock(args[0]);
      if (!isSock(s)) return s;
      const level = this.num(args[1], 'level');
      const name = this.num(args[2], 'option name');
      const o = s.opts;
      const expected = args[3];
      let actual: number | { onoff: number; linger: number };
      if (level === SYMBOLS.SOL_SOCKET) {
        switch (name) {
          case SYMBOLS.SO_ERROR: {
            let e = 0;
            if (s.handle >= 0 && s.role === 'connection') {
              const info = this.info(s.handle);
              if (info.error && !s.errorReported) { s.errorReported = true; e = info.error; }
            }
            actual = e;
            break;
          }
          case SYMBOLS.SO_REUSEADDR: case SYMBOLS.SO_REUSEPORT: actual = o.reuseaddr; break;
          case SYMBOLS.SO_KEEPALIVE: actual = o.keepalive; break;
          case SYMBOLS.SO_SNDBUF: actual = o.sndbuf || this.h.instance.getConfig('tcpSendBuffer'); break;
          case SYMBOLS.SO_RCVBUF: actual = o.rcvbuf || this.h.instance.getConfig('tcpRecvBuffer'); break;
          case SYMBOLS.SO_LINGER: actual = { ...o.linger }; break;
          default: return this.fail(ERRNO.ENOPROTOOPT);
        }
      } else if (level === SYMBOLS.IPPROTO_TCP) {
        switch (name) {
          case SYMBOLS.TCP_NODELAY: actual = o.nodelay; break;
          case SYMBOLS.TCP_MAXSEG:
            actual = s.role === 'connection' && s.handle >= 0 && (this.info(s.handle).flags & InfoFlag.CONNECTED) ? this.info(s.handle).mss : (o.maxseg || 536);
            break;
          case SYMBOLS.TCP_KEEPIDLE: actual = o.keepidle || 7200; break;
          case SYMBOLS.TCP_KEEPINTVL: actual = o.keepintvl || 75; break;
          case SYMBOLS.TCP_KEEPCNT: actual = o.keepcnt || 9; break;
          case SYMBOLS.TCP_USER_TIMEOUT: actual = o.userTimeout; break;
          default: return this.fail(ERRNO.ENOPROTOOPT);
        }
      } else {
        return this.fail(ERRNO.ENOPROTOOPT);
      }
      let mismatch: string | undefined;
      if (typeof actual === 'number') {
        const want = listValue(expected);
        if (expected && expected.kind !== 'ellipsis' && want !== undefined && want !== actual) {
          mismatch = `option value: expected [${want}], actual [${actual}]`;
        }
      } else if (expected && expected.kind === 'struct') {
        const f = structFields(expected);
        const wantOn = f.get('onoff'), wantLinger = f.get('linger');
        if ((wantOn !== undefined && wantOn !== actual.onoff) || (wantLinger !== undefined && wantLinger !== actual.linger)) {
          mismatch = `option value: expected {onoff=${wantOn}, linger=${wantLinger}}, actual {onoff=${actual.onoff}, linger=${actual.linger}}`;
        }
      }
      return mismatch ? { ret: 0, mismatch } : { ret: 0 };
    };
  }

  private fcntl(args: Expr[]): Attempt {
    return () => {
      const s = this.sock(args[0]);
      if (!isSock(s)) return s;
      const cmd = this.num(args[1], 'fcntl command');
      if (cmd === SYMBOLS.F_GETFL) return { ret: SYMBOLS.O_RDWR | (s.nonblock ? SYMBOLS.O_NONBLOCK : 0) };
      if (cmd === SYMBOLS.F_SETFL) {
        s.nonblock = (this.num(args[2], 'flags') & SYMBOLS.O_NONBLOCK) !== 0;
        return { ret: 0 };
      }
      return this.fail(ERRNO.EINVAL);
    };
  }

  private revents(fd: number, events: number): number {
    const s = this.socks.get(fd);
    if (!s) return SYMBOLS.POLLNVAL;
    let r = 0;
    if (s.kind === 'udp') {
      if (this.udp().udpPending(s.handle) > 0) r |= SYMBOLS.POLLIN | SYMBOLS.POLLRDNORM;
      r |= SYMBOLS.POLLOUT | SYMBOLS.POLLWRNORM;
    } else if (s.role === 'listener') {
      if (this.info(s.handle).flags & InfoFlag.CAN_ACCEPT) r |= SYMBOLS.POLLIN | SYMBOLS.POLLRDNORM;
    } else if (s.role === 'connection') {
      const info = this.info(s.handle);
      const failed = info.error !== 0;
      if (info.readable > 0 || (info.flags & InfoFlag.PEER_FIN) || failed) r |= SYMBOLS.POLLIN | SYMBOLS.POLLRDNORM;
      if (info.flags & InfoFlag.PEER_FIN) r |= SYMBOLS.POLLRDHUP;
      if ((info.flags & InfoFlag.CONNECTED) && !(info.flags & InfoFlag.WRITE_SHUT) && info.writeRoom > 0 && !failed) r |= SYMBOLS.POLLOUT | SYMBOLS.POLLWRNORM;
      if (failed && !s.errorReported) r |= SYMBOLS.POLLERR;
      if (failed || ((info.flags & InfoFlag.PEER_FIN) && (info.flags & InfoFlag.WRITE_SHUT))) r |= SYMBOLS.POLLHUP;
      if (failed) r |= SYMBOLS.POLLOUT | SYMBOLS.POLLWRNORM;
    } else {
      r |= SYMBOLS.POLLOUT | SYMBOLS.POLLWRNORM | SYMBOLS.POLLHUP;
    }
    return r & (events | SYMBOLS.POLLERR | SYMBOLS.POLLHUP | SYMBOLS.POLLNVAL);
  }

  private poll(args: Expr[]): Attempt {
    const startUs = this.h.nowUs;
    const list = args[0];
    if (!list || list.kind !== 'list') throw new SyscallError(`poll() takes a list of {fd=N, events=..., revents=...}, got ${describeExpr(list)}`);
    const entries = list.items.map((it) => {
      if (it.kind !== 'struct') throw new SyscallError(`poll() entries are {fd=N, events=..., revents=...}, got ${describeExpr(it)}`);
      const f = structFields(it);
      return { fd: f.get('fd') ?? -1, events: f.get('events') ?? 0, revents: f.get('revents') };
    });
    const timeoutMs = this.num(args[2], 'poll timeout');
    const deadline = timeoutMs < 0 ? Infinity : startUs + timeoutMs * 1000;
    return () => {
      const actual = entries.map((e) => this.revents(e.fd, e.events));
      const ready = actual.filter((r) => r !== 0).length;
      if (ready === 0 && this.h.nowUs < deadline) {
        this.wakeAtUs = deadline;
        return undefined;
      }
      this.wakeAtUs = Infinity;
      const bad = entries.findIndex((e, i) => e.revents !== undefined && e.revents !== actual[i]);
      const mismatch = bad >= 0
        ? `revents of fd ${entries[bad].fd}: expected ${formatPoll(entries[bad].revents!)}, actual ${formatPoll(actual[bad])}`
        : undefined;
      return mismatch ? { ret: ready, mismatch } : { ret: ready };
    };
  }

  /** A one-line view of the sockets for failure reports. */
  describe(): string {
    const parts: string[] = [];
    for (const s of this.socks.values()) {
      if (s.handle < 0 || s.kind === 'udp') { parts.push(`fd ${s.fd}: ${s.kind} ${s.role}`); continue; }
      const i = this.info(s.handle);
      parts.push(`fd ${s.fd}: ${s.role} state ${i.state} error ${i.error ? errnoName(i.error) : 0} readable ${i.readable}`);
    }
    return parts.join('; ');
  }
}

export class SyscallError extends Error {
  readonly code = 'ERR_WASM_TCPIP_PKTDRILL_SYSCALL';
}

function isSock(s: Sock | CallResult): s is Sock { return (s as Sock).opts !== undefined; }

/** Evaluates an argument: numbers, symbols (errno names too), `a|b`, htons(), inet_addr(); undefined for `...`. */
export function evalExpr(e: Expr | undefined): number | undefined {
  if (!e) return undefined;
  switch (e.kind) {
    case 'int': return e.value;
    case 'ellipsis': return undefined;
    case 'word': {
      const v = SYMBOLS[e.name] ?? ERRNO[e.name];
      if (v === undefined) throw new SyscallError(`unknown symbol ${e.name} at line ${e.loc.line}`);
      return v;
    }
    case 'or': return ((evalExpr(e.lhs) ?? 0) | (evalExpr(e.rhs) ?? 0)) >>> 0;
    case 'call': {
      if ((e.name === 'htons' || e.name === 'htonl' || e.name === 'ntohs') && e.args.length === 1) return evalExpr(e.args[0]);
      if (e.name === 'inet_addr' && e.args.length === 1 && e.args[0].kind === 'string') {
        const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(e.args[0].value);
        if (!m) throw new SyscallError(`inet_addr("${e.args[0].value}") is not an IPv4 address`);
        return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
      }
      throw new SyscallError(`unsupported function ${e.name}() at line ${e.loc.line}`);
    }
    default:
      throw new SyscallError(`expected a number at line ${e.loc.line}, got ${describeExpr(e)}`);
  }
}

function structFields(e: Expr & { kind: 'struct' }): Map<string, number> {
  const m = new Map<string, number>();
  for (const it of e.items) {
    if (it.kind !== 'assign') throw new SyscallError(`expected name=value in {...} at line ${it.loc.line}`);
    const v = evalExpr(it.value);
    if (v !== undefined) m.set(it.name, v);
  }
  return m;
}

/** `[N]` or `N` → N; `...` → undefined. */
function listValue(e: Expr | undefined): number | undefined {
  if (!e || e.kind === 'ellipsis') return undefined;
  if (e.kind === 'list') return e.items.length === 1 ? evalExpr(e.items[0]) : undefined;
  return evalExpr(e);
}

export function describeExpr(e: Expr | undefined): string {
  if (!e) return 'nothing';
  switch (e.kind) {
    case 'int': return String(e.value);
    case 'ellipsis': return '...';
    case 'word': return e.name;
    case 'string': return JSON.stringify(e.value);
    case 'list': return `[${e.items.map(describeExpr).join(', ')}]`;
    case 'struct': return `{${e.items.map(describeExpr).join(', ')}}`;
    case 'call': return `${e.name}(${e.args.map(describeExpr).join(', ')})`;
    case 'or': return `${describeExpr(e.lhs)}|${describeExpr(e.rhs)}`;
    case 'assign': return `${e.name}=${describeExpr(e.value)}`;
  }
  return '?';
}

export function formatPoll(bits: number): string {
  const names = ['POLLIN', 'POLLPRI', 'POLLOUT', 'POLLERR', 'POLLHUP', 'POLLNVAL', 'POLLRDNORM', 'POLLRDBAND', 'POLLWRNORM', 'POLLWRBAND', 'POLLRDHUP'];
  const parts = names.filter((n) => bits & SYMBOLS[n]);
  return parts.length ? parts.join('|') : '0';
}

