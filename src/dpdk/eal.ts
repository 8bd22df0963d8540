// Starting DPDK's EAL from options.
//
// Guarantees: builds EAL's arguments from named options (FACTS.md's measured flags): with
// hugepages mounted and free, `--in-memory`; without, `--no-huge -m <memoryMb> --no-shconf`;
// no PCI scan unless an allow-list is given; telemetry off. EAL starts once per process:
// later calls with the same options only add the virtual devices not yet present, and calls
// with other core/memory options fail with ERR_WASM_TCPIP_DPDK_EAL_STARTED. Asking for
// hugepages when none are usable fails with ERR_WASM_TCPIP_DPDK_NO_HUGEPAGES naming the
// commands that reserve them.

import { readFileSync } from 'node:fs';

import type { EalStartResult } from '../../shim/binding.js';
import { loadDpdk } from './addon.js';
import { DpdkError } from './errors.js';

export interface EalOptions {
  /** `--vdev` specs, e.g. 'net_tap0,iface=wtap0', 'net_ring0', 'net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap'. */
  vdevs?: string[];
  /** PCI addresses to use (`-a`); none means no PCI scan at all (`--no-pci`). */
  pciAllow?: string[];
  /** EAL `-l` core list (default '0'); workers register as extra lcores on their own. */
  cores?: string;
  /** 'auto' (default): hugepages when mounted and free; true: require them; false: never. */
  hugepages?: 'auto' | boolean;
  /** Memory EAL reserves without hugepages, MiB (default 512). */
  memoryMb?: number;
  /** EAL `--log-level` (e.g. 'notice', '*:debug'). */
  logLevel?: string;
  /** Echo DPDK's log to stderr (default false; errors quote it anyway). */
  echoLog?: boolean;
  /** Further EAL arguments, appended as given. */
  extraArgs?: string[];
}

export interface HugepageStatus {
  mounted: boolean;
  free: number;
}

/** Whether hugetlbfs is mounted and how many default-size hugepages are free. */
export function hugepageStatus(): HugepageStatus {
  let mounted = false;
  let free = 0;
  try {
    mounted = readFileSync('/proc/mounts', 'utf8').split('\n').some((line) => line.split(' ')[2] === 'hugetlbfs');
    const m = /^HugePages_Free:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    free = m ? Number(m[1]) : 0;
  } catch {
    // Not Linux: neither file exists; no hugepages.
  }
  return { mounted, free };
}

/** EAL arguments (without vdevs) for these options. */
export function ealArgs(options: EalOptions = {}): string[] {
  const cores = options.cores ?? '0';
  if (!/^[0-9,\-@()]+$/.test(cores)) {
    throw new DpdkError('ERR_INVALID_ARG_VALUE', `option cores must be an EAL core list like '0' or '0-3', got '${cores}'`);
  }
  const memoryMb = options.memoryMb ?? 512;
  if (!Number.isInteger(memoryMb) || memoryMb < 64 || memoryMb > 1 << 20) {
    throw new DpdkError('ERR_INVALID_ARG_VALUE', `option memoryMb must be an integer from 64 to 1048576, got ${memoryMb}`);
  }
  const wanted = options.hugepages ?? 'auto';
  const huge = hugepageStatus();
  const usable = huge.mounted && huge.free > 0;
  if (wanted === true && !usable) {
    throw new DpdkError(
      'ERR_WASM_TCPIP_DPDK_NO_HUGEPAGES',
      `hugepages were asked for but ${huge.mounted ? 'none is free' : 'hugetlbfs is not mounted'}: as root run ` +
        '`echo 512 > /proc/sys/vm/nr_hugepages; mkdir -p /dev/hugepages; mount -t hugetlbfs nodev /dev/hugepages`, ' +
        "or use hugepages: 'auto' or false",
    );
  }
  const args = ['wasm-tcpip', '-l', cores, '--no-telemetry'];
  if (wanted !== false && usable) args.push('--in-memory');
  else args.push('--no-huge', '-m', String(memoryMb), '--no-shconf');
  const pci = options.pciAllow ?? [];
  if (pci.length === 0) args.push('--no-pci');
  for (const a of pci) args.push('-a', a);
  if (options.logLevel) args.push('--log-level', options.logLevel);
  args.push(...(options.extraArgs ?? []));
  return args;
}

/** Starts EAL (once per process) and makes sure every vdev asked for exists as a port. */
export function startEal(options: EalOptions = {}): EalStartResult {
  const args = ealArgs(options);
  return loadDpdk().eal.start(args, options.vdevs ?? [], options.echoLog ?? false);
}
