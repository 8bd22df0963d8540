// Errors the socket API raises, built the way Node's own `net`/`dgram` build them.
//
// Guarantees: the stack reports failures as negative *Linux* errno numbers (its ABI is fixed
// to Linux's numbering on every platform); here they become Node-shaped errors whose `code`
// is the errno name ('ECONNREFUSED'), whose `errno` is the negative number of the platform
// Node runs on (as Node reports it), with `syscall`, and `address`/`port` when known. The
// message has Node's form: 'connect ECONNREFUSED 10.0.0.1:7', or, for errors Node builds
// with a description ('listen EADDRINUSE: address already in use 0.0.0.0:7').

import { constants as osConstants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

/** Linux errno numbers the stack's ABI uses (assembly/tcp/api.ts, assembly/udp/api.ts). */
const LINUX_ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: 'EPERM',
  9: 'EBADF',
  11: 'EAGAIN',
  12: 'ENOMEM',
  13: 'EACCES',
  22: 'EINVAL',
  24: 'EMFILE',
  32: 'EPIPE',
  90: 'EMSGSIZE',
  97: 'EAFNOSUPPORT',
  98: 'EADDRINUSE',
  99: 'EADDRNOTAVAIL',
  101: 'ENETUNREACH',
  103: 'ECONNABORTED',
  104: 'ECONNRESET',
  105: 'ENOBUFS',
  106: 'EISCONN',
  107: 'ENOTCONN',
  110: 'ETIMEDOUT',
  111: 'ECONNREFUSED',
  113: 'EHOSTUNREACH',
  125: 'ECANCELED',
};

/** Linux errno numbers used by the host code itself. */
export const Errno = {
  EAGAIN: 11,
  EMSGSIZE: 90,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENOBUFS: 105,
  ENOTCONN: 107,
  EOPNOTSUPP: 95,
} as const;

/** An error as Node's `net` and `dgram` raise them. */
export interface SystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  address?: string;
  port?: number;
}

/** The errno name for a Linux errno number (positive or negative). */
export function errnoName(linuxErrno: number): string {
  return LINUX_ERRNO_NAMES[Math.abs(linuxErrno)] ?? `UNKNOWN_ERRNO_${Math.abs(linuxErrno)}`;
}

/** Node's `errno` value for a code on this platform (negative, as Node reports it). */
function platformErrno(code: string, linuxErrno: number): number {
  const n = (osConstants.errno as Record<string, number>)[code];
  return -(n ?? Math.abs(linuxErrno));
}

/**
 * Builds a Node-shaped error from a stack errno.
 * `describe` adds the system's description, as Node does for `listen` and `bind` errors.
 */
export function errnoException(
  linuxErrno: number,
  syscall: string,
  address?: string,
  port?: number,
  describe = false,
): SystemError {
  const err = buildErrnoException(linuxErrno, syscall, address, port, describe);
  if (Math.abs(linuxErrno) === Errno.ENOBUFS && (syscall === 'connect' || syscall === 'listen')) {
    // A limit of this stack, not of a kernel: say which options move it.
    err.message += ' (the stack\'s connection table or buffer slab is full: raise createStack\'s tcp.maxConnections or tcp.slabBytes, or use smaller tcp.sendBuffer/recvBuffer)';
  }
  return err;
}

function buildErrnoException(
  linuxErrno: number,
  syscall: string,
  address: string | undefined,
  port: number | undefined,
  describe: boolean,
): SystemError {
  const code = errnoName(linuxErrno);
  const errno = platformErrno(code, linuxErrno);
  let message = `${syscall} ${code}`;
  if (describe) {
    const text = getSystemErrorMap().get(errno)?.[1];
    if (text) message += `: ${text}`;
  }
  if (address !== undefined) message += port !== undefined && port > 0 ? ` ${address}:${port}` : ` ${address}`;
  const err = new Error(message) as SystemError;
  err.code = code;
  err.errno = errno;
  err.syscall = syscall;
  if (address !== undefined) err.address = address;
  if (address !== undefined && port !== undefined) err.port = port;
  return err;
}

/** A project error with a stable `ERR_WASM_TCPIP_*` code. */
export function projectError(code: string, message: string): Error & { code: string } {
  const err = new Error(`wasm-tcpip: ${message}`) as Error & { code: string };
  err.code = code;
  return err;
}

/** Node's ERR_SOCKET_CLOSED / ERR_STREAM_DESTROYED style errors, for calls on dead sockets. */
export function nodeCodeError(code: string, message: string, Base: ErrorConstructor = Error): Error & { code: string } {
  const err = new Base(message) as Error & { code: string };
  err.code = code;
  return err;
}
