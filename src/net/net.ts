// `stack.net`: the `node:net` module of one stack.
//
// Guarantees: the same call shapes as `node:net` (`createServer([options][, listener])`,
// `connect(options | port[, host][, listener])`, `createConnection` (the same function),
// `Server`, `Socket`, `isIP`/`isIPv4`/`isIPv6`), every socket and server bound to this
// stack; `instanceof stack.net.Socket` holds for accepted and connected sockets alike.

import { isIP, isIPv4, isIPv6 } from 'node:net';
import type { NetContext } from './context.js';
import { Server, type ServerOptions } from './server.js';
import { kContext, normalizeConnectArgs, Socket, type SocketConstructorOptions, type TcpConnectOptions } from './socket.js';

export type SocketClass = new (options?: SocketConstructorOptions) => Socket;
export type ServerClass = new (options?: ServerOptions | ((socket: Socket) => void), connectionListener?: (socket: Socket) => void) => Server;

export interface Net {
  readonly Socket: SocketClass;
  readonly Server: ServerClass;
  createServer(connectionListener?: (socket: Socket) => void): Server;
  createServer(options?: ServerOptions, connectionListener?: (socket: Socket) => void): Server;
  connect(options: TcpConnectOptions, connectListener?: () => void): Socket;
  connect(port: number | string, host?: string, connectListener?: () => void): Socket;
  createConnection(options: TcpConnectOptions, connectListener?: () => void): Socket;
  createConnection(port: number | string, host?: string, connectListener?: () => void): Socket;
  isIP(input: string): number;
  isIPv4(input: string): boolean;
  isIPv6(input: string): boolean;
}

/** The Socket class of a stack: `new stack.net.Socket(options)`. */
export function socketClassFor(ctx: NetContext): SocketClass {
  return class StackSocket extends Socket {
    constructor(options: SocketConstructorOptions = {}) {
      super({ ...options, [kContext]: ctx } as SocketConstructorOptions);
    }
  };
}

export function createNet(ctx: NetContext): Net {
  const StackSocket = ctx.Socket;
  const StackServer = class StackServer extends Server {
    constructor(options?: ServerOptions | ((socket: Socket) => void), connectionListener?: (socket: Socket) => void) {
      if (typeof options === 'function') super({ [kContext]: ctx } as ServerOptions, options);
      else super({ ...(options ?? {}), [kContext]: ctx } as ServerOptions, connectionListener);
    }
  };
  function connect(...args: unknown[]): Socket {
    const [options] = normalizeConnectArgs(args);
    const socket = new StackSocket({
      allowHalfOpen: options.allowHalfOpen,
      noDelay: options.noDelay,
      keepAlive: options.keepAlive,
      keepAliveInitialDelay: options.keepAliveInitialDelay,
    });
    return (socket.connect as (...a: unknown[]) => Socket)(...args);
  }
  return {
    Socket: StackSocket,
    Server: StackServer,
    createServer(options?: ServerOptions | ((socket: Socket) => void), connectionListener?: (socket: Socket) => void): Server {
      return new StackServer(options, connectionListener);
    },
    connect: connect as Net['connect'],
    createConnection: connect as Net['createConnection'],
    isIP,
    isIPv4,
    isIPv6,
  };
}
