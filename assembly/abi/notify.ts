// Socket notifications to the host: which sockets changed state since the host last looked.
//
// Guarantees: a socket appears at most once in the list until the host clears it, so the
// list can never overflow (its capacity is the number of sockets); the host then asks each
// listed socket for its state. Level-triggered: nothing is lost if the host looks late.
//
// A handle is (kind << 24) | index.

import { allocZeroed } from "../frame/rings";

export namespace HandleKind {
  export const TCP: u32 = 1;
  export const UDP: u32 = 2;
}

@inline export function makeHandle(kind: u32, index: u32): u32 { return (kind << 24) | index; }
@inline export function handleKind(handle: u32): u32 { return handle >>> 24; }
@inline export function handleIndex(handle: u32): u32 { return handle & 0xFFFFFF; }

let list: usize = 0;
let listLen: u32 = 0;
let listCap: u32 = 0;
let tcpFlags: usize = 0;
let tcpMax: u32 = 0;
let udpFlags: usize = 0;
let udpMax: u32 = 0;

export function notifyInit(tcpSockets: u32, udpSockets: u32): void {
  tcpMax = tcpSockets;
  udpMax = udpSockets;
  listCap = tcpSockets + udpSockets;
  list = allocZeroed(<usize>(listCap + 1) << 2);
  tcpFlags = allocZeroed(tcpSockets + 1);
  udpFlags = allocZeroed(udpSockets + 1);
  listLen = 0;
}

/** Marks a socket as changed. Cheap and idempotent. */
export function notify(kind: u32, index: u32): void {
  let flag: usize;
  if (kind == HandleKind.TCP) {
    if (index >= tcpMax) return;
    flag = tcpFlags + index;
  } else {
    if (index >= udpMax) return;
    flag = udpFlags + index;
  }
  if (load<u8>(flag) != 0) return;
  store<u8>(flag, 1);
  store<u32>(list + (<usize>listLen << 2), makeHandle(kind, index));
  listLen++;
}

export function notifyListPtr(): usize { return list; }
export function notifyListLen(): u32 { return listLen; }

/** The host has read the list: empty it. */
export function notifyClear(): void {
  for (let i: u32 = 0; i < listLen; i++) {
    const h = load<u32>(list + (<usize>i << 2));
    const idx = handleIndex(h);
    if (handleKind(h) == HandleKind.TCP) store<u8>(tcpFlags + idx, 0);
    else store<u8>(udpFlags + idx, 0);
  }
  listLen = 0;
}
