// TCP connection states (RFC 9293 3.3.2) and the classes of states the rules refer to.
//
// Guarantees: the numeric values are part of the host ABI (the info struct's `state`,
// documented in api.ts) and never change.

export namespace TcpState {
  export const CLOSED: u32 = 0;
  export const LISTEN: u32 = 1;
  export const SYN_SENT: u32 = 2;
  export const SYN_RECEIVED: u32 = 3;
  export const ESTABLISHED: u32 = 4;
  export const FIN_WAIT_1: u32 = 5;
  export const FIN_WAIT_2: u32 = 6;
  export const CLOSE_WAIT: u32 = 7;
  export const CLOSING: u32 = 8;
  export const LAST_ACK: u32 = 9;
  export const TIME_WAIT: u32 = 10;
}

/** States after the handshake completed (RFC 9293 3.5.2's "synchronized" states). */
@inline export function isSynchronized(state: u32): bool {
  return state >= TcpState.ESTABLISHED;
}

/** States in which we have not yet sent our FIN: the send side accepts data. */
@inline export function canSendData(state: u32): bool {
  return state == TcpState.ESTABLISHED || state == TcpState.CLOSE_WAIT ||
    state == TcpState.SYN_SENT || state == TcpState.SYN_RECEIVED;
}
