// Loads the native DPDK shim (build/Release/wasm_tcpip_dpdk.node).
//
// Guarantees: loaded once per thread and cached; when it cannot be loaded, the error is a
// DpdkError with code ERR_WASM_TCPIP_NO_DPDK whose message says which case it is and what
// to run: libdpdk not installed (the package to install), the addon not built, DPDK's
// shared libraries gone since the build, or an addon from another version of this package.
// Nothing else in the package loads the addon, so using wasm-tcpip without DPDK never
// touches it.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import type { Binding } from '../../shim/binding.js';
import { DpdkError } from './errors.js';

export type { Binding } from '../../shim/binding.js';

/** Version of the addon's surface this host speaks (shim/addon.cc `abiVersion`). */
export const ADDON_ABI_VERSION = 1;
export const NO_DPDK = 'ERR_WASM_TCPIP_NO_DPDK';

const INSTALL = '`apt-get install libdpdk-dev dpdk pkg-config`, then `npm run build:addon`';

let cached: Binding | undefined;

/** Path of the built addon. */
export function addonPath(): string {
  return fileURLToPath(new URL('../../build/Release/wasm_tcpip_dpdk.node', import.meta.url));
}

function libdpdkInstalled(): boolean {
  if (process.env.WASM_TCPIP_NO_DPDK === '1') return false;
  return spawnSync('pkg-config', ['--exists', 'libdpdk'], { stdio: 'ignore' }).status === 0;
}

/** The addon, loaded on first use; throws ERR_WASM_TCPIP_NO_DPDK naming the fix. */
export function loadDpdk(): Binding {
  if (cached) return cached;
  const path = addonPath();
  if (process.env.WASM_TCPIP_NO_DPDK === '1' || !existsSync(path)) {
    if (!libdpdkInstalled()) {
      throw new DpdkError(NO_DPDK, `the DPDK link needs libdpdk, which is not installed: install it with ${INSTALL}`);
    }
    throw new DpdkError(NO_DPDK, `the DPDK addon is not built (${path} is missing): run \`npm run build:addon\``);
  }
  let binding: Binding;
  try {
    binding = createRequire(import.meta.url)(path) as Binding;
  } catch (e) {
    const why = (e as Error).message;
    if (/librte_|cannot open shared object/.test(why)) {
      throw new DpdkError(NO_DPDK, `DPDK's shared libraries are missing (${why}): install them with ${INSTALL}`, { cause: e });
    }
    throw new DpdkError(NO_DPDK, `the DPDK addon failed to load (${why}): rebuild it with \`npm run build:addon\``, { cause: e });
  }
  if (binding.abiVersion !== ADDON_ABI_VERSION) {
    throw new DpdkError(NO_DPDK, `the DPDK addon has ABI ${binding.abiVersion}, this host needs ${ADDON_ABI_VERSION}: rebuild it with \`npm run build:addon\``);
  }
  cached = binding;
  return binding;
}

/** True when the addon loads (DPDK installed and built); never throws. */
export function dpdkAvailable(): boolean {
  try {
    loadDpdk();
    return true;
  } catch {
    return false;
  }
}
