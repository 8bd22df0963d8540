// The test-only module build/tcpparts-test.wasm (assembly/testing/tcpparts.ts): the TCP
// building blocks (options, SipHash, ISNs, ports, slab, rings, reassembly, RTT, congestion
// control) exported one by one, for tests that check them on exact values.
//
// `loadParts(config)` gives a fresh, initialised instance: config overrides use the slot
// names of assembly/abi/config.ts (an unknown name or a slot init refuses throws), and an
// AssemblyScript abort becomes a thrown Error with its message and place.

import { readFileSync } from 'node:fs';

const compiled = new WebAssembly.Module(readFileSync(new URL('../../build/tcpparts-test.wasm', import.meta.url)));

/** An AssemblyScript string (UTF-16, length in the 4 bytes before it) at `ptr`. */
function readString(memory, ptr) {
  const len = new Uint32Array(memory.buffer, ptr - 4, 1)[0];
  return Buffer.from(memory.buffer, ptr, len).toString('utf16le');
}

/** A fresh instance with config overrides, initialised: { x (exports), u8(), dv(), counter(name) }. */
export function loadParts(config = {}) {
  let x;
  const instance = new WebAssembly.Instance(compiled, {
    env: {
      abort(msg, file, line, col) {
        throw new Error(`abort: ${readString(x.memory, msg)} at ${readString(x.memory, file)}:${line}:${col}`);
      },
    },
  });
  x = instance.exports;
  x.configReset();
  const keys = readString(x.memory, x.configKeys()).split(',');
  for (const [k, v] of Object.entries(config)) {
    const i = keys.indexOf(k);
    if (i < 0) throw new Error(`unknown config key ${k}`);
    new Uint32Array(x.memory.buffer)[(x.configTablePtr() >>> 2) + i] = v;
  }
  const bad = x.partsInit();
  if (bad !== 0) throw new Error(`config slot ${keys[bad - 1]} rejected`);
  const names = readString(x.memory, x.counterNames()).split(',');
  const u8 = () => new Uint8Array(x.memory.buffer);
  const dv = () => new DataView(x.memory.buffer);
  const counter = (name) => {
    const i = names.indexOf(name);
    if (i < 0) throw new Error(`no counter ${name}`);
    return Number(dv().getBigUint64(x.countersPtr() + i * 8, true));
  };
  return { x, u8, dv, counter };
}
