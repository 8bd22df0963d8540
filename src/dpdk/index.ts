// The DPDK side of the host: addon loading, EAL, ports. Links live in src/links/dpdk.ts.

export { loadDpdk, dpdkAvailable, addonPath, NO_DPDK, ADDON_ABI_VERSION } from './addon.js';
export { startEal, ealArgs, hugepageStatus, type EalOptions, type HugepageStatus } from './eal.js';
export { openPort, resolvePortId, type OpenedPort } from './port.js';
export { DpdkError } from './errors.js';
export type {
  Binding, PortInfo, PortConfig, PortConfigured, PortState, PortStats, LinkStatus, RssInfo, QueueStats, QueuePlan,
  EalStartResult, PortSummary,
} from '../../shim/binding.js';
