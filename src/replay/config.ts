// A replay stack's configuration file (`--config stack.json`): who the stack is and what its
// application does, so a capture can be fed to it and its answers recorded.
//
// Guarantees: `parseReplayConfig` accepts exactly the documented keys and throws a
// ReplayConfigError naming the key and the expected form for anything else; the result is
// complete (defaults filled), so a configuration file fully determines a replay.
//
// {
//   "address": "10.0.0.2/24",          the stack's IPv4 address and prefix (required)
//   "mac": "02:00:00:00:00:02",        the stack's MAC (required: captured frames are addressed to it)
//   "gateway": "10.0.0.1",             default gateway (optional)
//   "mtu": 1500,                       link MTU (default 1500)
//   "seed": 1,                         stack seed: ISNs, ephemeral ports (default 1)
//   "config": { "tcpMinRtoMs": 200 },  raw configuration slots (assembly/abi/config.ts keys)
//   "listen": [{ "port": 7, "app": "echo" }],       listeners; app "echo" or "discard"
//   "connect": [{ "to": "10.0.0.1", "port": 9, "atMs": 0, "send": 100000 }]
//                                      active opens at a time: send N bytes, then close
// }

import { readFileSync } from 'node:fs';
import { parseIpv4 } from '../net/ipv4.js';

export type ListenApp = 'echo' | 'discard';

export interface ReplayConfig {
  address: number;
  prefix: number;
  mac: Uint8Array;
  gateway: number;
  mtu: number;
  seed: number;
  config: Array<[string, number]>;
  listen: Array<{ port: number; app: ListenApp }>;
  connect: Array<{ to: number; port: number; atUs: number; send: number }>;
}

export class ReplayConfigError extends Error {
  readonly code = 'ERR_WASM_TCPIP_REPLAY_CONFIG';
}

const KEYS = ['address', 'mac', 'gateway', 'mtu', 'seed', 'config', 'listen', 'connect'];

function bad(where: string, key: string, expected: string, got: unknown): never {
  throw new ReplayConfigError(`${where}: "${key}" must be ${expected}, got ${JSON.stringify(got)}`);
}

function int(where: string, key: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(where, key, `an integer from ${min} to ${max}`, v);
  return v;
}

function ip(where: string, key: string, v: unknown): number {
  const a = typeof v === 'string' ? parseIpv4(v) : null;
  if (a === null) bad(where, key, 'an IPv4 address like "10.0.0.1"', v);
  return a;
}

export function parseReplayConfig(value: unknown, where = 'stack config'): ReplayConfig {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) bad(where, '(top level)', 'an object', value);
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!KEYS.includes(k)) throw new ReplayConfigError(`${where}: unknown key "${k}" (known: ${KEYS.join(', ')})`);
  }
  const m = typeof o.address === 'string' ? /^(.+)\/(\d{1,2})$/.exec(o.address) : null;
  const address = m ? parseIpv4(m[1]) : null;
  if (!m || address === null || Number(m[2]) > 32) bad(where, 'address', 'an IPv4 address with a prefix like "10.0.0.2/24"', o.address);
  const macText = typeof o.mac === 'string' ? /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(o.mac) : null;
  if (!macText) bad(where, 'mac', 'a MAC address like "02:00:00:00:00:02"', o.mac);
  const cfg: Array<[string, number]> = [];
  if (o.config !== undefined) {
    if (o.config === null || typeof o.config !== 'object' || Array.isArray(o.config)) bad(where, 'config', 'an object of configuration slots', o.config);
    for (const [k, v] of Object.entries(o.config as Record<string, unknown>)) cfg.push([k, int(where, `config.${k}`, v, 0, 0xfffffffe)]);
  }
  const listen: ReplayConfig['listen'] = [];
  if (o.listen !== undefined) {
    if (!Array.isArray(o.listen)) bad(where, 'listen', 'a list of { "port": N, "app": "echo" | "discard" }', o.listen);
    o.listen.forEach((l: unknown, i: number) => {
      const e = (l ?? {}) as Record<string, unknown>;
      const app = e.app ?? 'discard';
      if (app !== 'echo' && app !== 'discard') bad(where, `listen[${i}].app`, '"echo" or "discard"', app);
      listen.push({ port: int(where, `listen[${i}].port`, e.port, 1, 65535), app });
    });
  }
  const connect: ReplayConfig['connect'] = [];
  if (o.connect !== undefined) {
    if (!Array.isArray(o.connect)) bad(where, 'connect', 'a list of { "to": "a.b.c.d", "port": N, "atMs": N, "send": N }', o.connect);
    o.connect.forEach((c: unknown, i: number) => {
      const e = (c ?? {}) as Record<string, unknown>;
      connect.push({
        to: ip(where, `connect[${i}].to`, e.to),
        port: int(where, `connect[${i}].port`, e.port, 1, 65535),
        atUs: int(where, `connect[${i}].atMs`, e.atMs ?? 0, 0, 86_400_000) * 1000,
        send: int(where, `connect[${i}].send`, e.send ?? 0, 0, 2 ** 40),
      });
    });
  }
  return {
    address: address!,
    prefix: Number(m![2]),
    mac: Uint8Array.from(macText!.slice(1, 7).map((h) => parseInt(h, 16))),
    gateway: o.gateway === undefined ? 0 : ip(where, 'gateway', o.gateway),
    mtu: o.mtu === undefined ? 1500 : int(where, 'mtu', o.mtu, 68, 9000),
    seed: o.seed === undefined ? 1 : int(where, 'seed', o.seed, 0, 0xffffffff),
    config: cfg,
    listen,
    connect,
  };
}

export function readReplayConfig(path: string): ReplayConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ReplayConfigError(`cannot read the stack config ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ReplayConfigError(`${path} is not JSON: ${(e as Error).message}`);
  }
  return parseReplayConfig(json, path);
}
