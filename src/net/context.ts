// What a socket needs from the stack it belongs to: the ABIs, the clock, a way to get output
// sent, and the registry that routes the stack's notifications to the socket objects.
//
// Guarantees: a socket calls into the stack only through this context; after any call that
// may produce output it calls `kick()` (frames are sent by the next poll, never by the socket
// call itself); an endpoint is registered under its stack handle for exactly as long as the
// host owns that handle.

import type { Clock } from '../clock/clock.js';
import type { Socket, SocketConstructorOptions } from './socket.js';
import type { TcpAbi } from './tcp-abi.js';

/** Something the stack notifies: a TCP socket, a TCP listener, or a UDP socket. */
export interface Endpoint {
  /** The stack marked this endpoint's handle as changed: look at its state and act. */
  onNotify(): void;
}

/** A TCP socket as the stack's graceful close sees it. */
export interface ClosableConnection {
  /** Ends the socket (FIN after queued data) as part of a stack close. */
  endForClose(): void;
  /** True once the FIN handshake finished both ways (or failed), or the socket is gone. */
  drained(): boolean;
  /** Closes the socket (a finished connection is let go gracefully). */
  destroy(): unknown;
  /** Sends an RST and destroys the socket. */
  resetAndDestroy(): unknown;
  readonly destroyed: boolean;
}

export interface NetContext {
  readonly tcp: TcpAbi;
  readonly clock: Clock;
  /** The stack's own address (host order). */
  readonly localAddress: number;
  /** Default for setNoDelay on new sockets (options.tcp.noDelay). */
  readonly noDelay: boolean;
  /** Seed of the stack, for the choice of a port when `listen(0)` asks for any. */
  readonly seed: number;
  /** True once `stack.close()` began: no new listeners or connections. */
  readonly closing: boolean;
  /** The stack's Socket class (accepted connections are made with it). */
  readonly Socket: new (options?: SocketConstructorOptions) => Socket;
  /** Gets output sent by the next poll. */
  kick(): void;
  registerTcp(handle: number, endpoint: Endpoint): void;
  unregisterTcp(handle: number): void;
  /** Closes a connection the application let go of, once it delivered what was written. */
  releaseTcp(handle: number): void;
  /** Tracks an open TCP socket until its 'close' (for `stack.close`). */
  trackConnection(socket: ClosableConnection): void;
  untrackConnection(socket: ClosableConnection): void;
  /** Tracks a listening server until it closes (for `stack.close`). */
  trackServer(server: { close(): unknown }): void;
  untrackServer(server: { close(): unknown }): void;
}
