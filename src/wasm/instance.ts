// One stack instance: the compiled WASM module, instantiated, configured and initialised.
//
// Guarantees: the module is compiled once per process (per thread) and instantiated per
// stack; configuration keys and counter names come from the module itself, so the host
// never carries a second copy of those tables. Views over linear memory are refreshed if
// memory ever grows (it should not after `init`; growth is counted in `memoryGrowths`).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** What the WASM module exports (see assembly/index.ts). */
export interface StackExports {
  memory: WebAssembly.Memory;
  ABI_VERSION: WebAssembly.Global;
  init(): number;
  input(n: number, nowUs: number): number;
  poll(nowUs: number): number;
  nextDeadlineUs(): number;
  configTablePtr(): number;
  configKeys(): number;
  configReset(): void;
  countersPtr(): number;
  counterCount(): number;
  counterNames(): number;
  notifyListPtr(): number;
  notifyListLen(): number;
  notifyClear(): void;
  rxDescBase(): number;
  txDescBase(): number;
  rxSlotCount(): number;
  txSlotCount(): number;
  rxSlotBytes(): number;
  txSlotBytes(): number;
  [name: string]: unknown;
}

export const ABI_VERSION = 1;
export const DESC_SIZE = 32;

/** Error thrown for a bad stack configuration; `code` is stable. */
export class StackConfigError extends RangeError {
  readonly code = 'ERR_WASM_TCPIP_CONFIG';
  /** The config slot key at fault. */
  constructor(message: string, readonly key?: string) {
    super(message);
    this.name = 'RangeError';
  }
}

const modules = new Map<string, WebAssembly.Module>();

/** Path of the built module; `debug` picks the unoptimised build with assertions. */
export function wasmPath(debug = false): string {
  return fileURLToPath(new URL(`../../build/${debug ? 'stack.debug' : 'stack'}.wasm`, import.meta.url));
}

function compiled(path: string): WebAssembly.Module {
  let m = modules.get(path);
  if (!m) {
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = new Uint8Array(readFileSync(path));
    } catch (e) {
      const err = new Error(`wasm-tcpip: ${path} is missing: run \`npm run build:wasm\` first`);
      (err as NodeJS.ErrnoException).code = 'ERR_WASM_TCPIP_NOT_BUILT';
      throw err;
    }
    m = new WebAssembly.Module(bytes);
    modules.set(path, m);
  }
  return m;
}

/** Reads an AssemblyScript string (UTF-16LE, byte length at ptr - 4) out of memory. */
export function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (ptr === 0) return '';
  const len = new Uint32Array(memory.buffer, ptr - 4, 1)[0];
  return Buffer.from(memory.buffer, ptr, len).toString('utf16le');
}

export class StackInstance {
  readonly exports: StackExports;
  readonly configKeys: readonly string[];
  readonly counterNames: readonly string[];
  /** Byte views over linear memory; replaced when memory grows. */
  u8!: Uint8Array;
  u32!: Uint32Array;
  dv!: DataView;
  private viewBuffer: ArrayBuffer | null = null;
  memoryGrowths = 0;

  constructor(opts: { debug?: boolean } = {}) {
    const instance = new WebAssembly.Instance(compiled(wasmPath(opts.debug)), {
      env: {
        abort: (msg: number, file: number, line: number, col: number) => {
          const m = this.exports?.memory;
          const text = m ? `${readAsString(m, msg)} at ${readAsString(m, file)}:${line}:${col}` : 'abort';
          const err = new Error(`wasm-tcpip: stack aborted: ${text}`);
          (err as NodeJS.ErrnoException).code = 'ERR_WASM_TCPIP_ABORT';
          throw err;
        },
      },
    });
    this.exports = instance.exports as unknown as StackExports;
    const version = this.exports.ABI_VERSION.value as number;
    if (version !== ABI_VERSION) {
      throw new Error(`wasm-tcpip: build/stack.wasm has ABI ${version}, the host expects ${ABI_VERSION}: run \`npm run build\``);
    }
    this.refreshViews();
    this.configKeys = readAsString(this.exports.memory, this.exports.configKeys()).split(',');
    this.counterNames = readAsString(this.exports.memory, this.exports.counterNames()).split(',');
    this.exports.configReset();
  }

  /** Refreshes the views if linear memory has grown (the old ArrayBuffer is then detached). */
  refreshViews(): void {
    const buf = this.exports.memory.buffer;
    if (buf === this.viewBuffer) return;
    if (this.viewBuffer) this.memoryGrowths++;
    this.viewBuffer = buf;
    this.u8 = new Uint8Array(buf);
    this.u32 = new Uint32Array(buf);
    this.dv = new DataView(buf);
  }

  /** Sets a configuration slot by its key (see assembly/abi/config.ts). */
  setConfig(key: string, value: number): void {
    const i = this.configKeys.indexOf(key);
    if (i < 0) throw new Error(`wasm-tcpip: unknown config key ${key}`);
    if (!Number.isInteger(value) || value < 0 || value > 0xfffffffe) {
      throw new StackConfigError(`wasm-tcpip: config ${key} must be an integer from 0 to 4294967294, got ${value}`, key);
    }
    this.u32[(this.exports.configTablePtr() >>> 2) + i] = value;
  }

  getConfig(key: string): number {
    const i = this.configKeys.indexOf(key);
    if (i < 0) throw new Error(`wasm-tcpip: unknown config key ${key}`);
    return this.u32[(this.exports.configTablePtr() >>> 2) + i];
  }

  /** Validates and allocates; throws a StackConfigError naming the bad setting. */
  init(): void {
    const r = this.exports.init();
    this.refreshViews();
    if (r === -1) throw new Error('wasm-tcpip: stack instance initialised twice');
    if (r > 0) {
      const key = this.configKeys[r - 1];
      throw new StackConfigError(`wasm-tcpip: config ${key}=${this.getConfig(key)} is out of range (see assembly/abi/config.ts)`, key);
    }
  }

  /** All counters by name (bigints are exact; values are small enough for numbers in practice). */
  counters(): Record<string, number> {
    this.refreshViews();
    const base = this.exports.countersPtr();
    const out: Record<string, number> = {};
    for (let i = 0; i < this.counterNames.length; i++) {
      out[this.counterNames[i]] = Number(this.dv.getBigUint64(base + i * 8, true));
    }
    return out;
  }
}
