// Builds the native DPDK shim (build/Release/wasm_tcpip_dpdk.node) with cmake-js, when the
// system has libdpdk.
//
// Guarantees: exits 0 without building, after one clear line, when `pkg-config --exists
// libdpdk` fails (no libdpdk-dev, or no pkg-config), so `npm run build` completes and
// everything that does not need DPDK works; the DPDK link then throws
// ERR_WASM_TCPIP_NO_DPDK naming the package. When libdpdk is there, a failed build fails.
// WASM_TCPIP_NO_DPDK=1 skips the build the same way (to try the no-DPDK path).

import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const missing =
  'wasm-tcpip: libdpdk not found: the DPDK link is disabled; install it with `apt-get install libdpdk-dev pkg-config`';

function hasLibdpdk() {
  if (process.env.WASM_TCPIP_NO_DPDK === '1') return false;
  const probe = spawnSync('pkg-config', ['--exists', 'libdpdk'], { stdio: 'ignore' });
  return probe.status === 0;
}

if (!hasLibdpdk()) {
  console.log(missing);
  process.exit(0);
}

const require = createRequire(import.meta.url);
const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const build = spawnSync(process.execPath, [cmakeJs, 'build', '--directory', root, ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
if (build.error) {
  console.error(`wasm-tcpip: could not run cmake-js: ${build.error.message}`);
  process.exit(1);
}
if (build.status !== 0) {
  console.error('wasm-tcpip: the DPDK addon failed to build (see above); cmake and a C++17 compiler are needed: `apt-get install cmake g++`');
}
process.exit(build.status ?? 1);
