// Shell lines of a script (`sysctl ...`, `echo N > /proc/sys/...`) mapped onto the stack's
// configuration slots (assembly/abi/config.ts).
//
// Guarantees: every piece of every shell line ends up either applied (a slot and value) or
// ignored with a reason the runner prints ("ignored: <line>: <why>"); nothing is run by a
// shell and nothing is dropped silently. A sysctl whose slot the loaded stack does not have is
// reported as ignored, naming the slot, so the table keeps working as slots are added.

export interface SysctlRule {
  /** The sysctl name, dotted (`net.ipv4.tcp_syn_retries`). */
  sysctl: string;
  /** What it becomes, for the README table. */
  meaning: string;
  /** Config slot assignments for the sysctl's value (whitespace-separated fields), or an error. */
  map(fields: number[]): Array<[string, number]> | string;
}

const one = (key: string, scale = 1) => (f: number[]): Array<[string, number]> | string =>
  f.length === 1 ? [[key, Math.ceil(f[0] * scale)]] : `expects one number, got ${f.length}`;

/** The mapping table; listed in the README. */
export const SYSCTL_RULES: readonly SysctlRule[] = [
  { sysctl: 'net.ipv4.tcp_rmem', meaning: 'tcpRecvBuffer = the middle (default) value', map: (f) => (f.length === 3 ? [['tcpRecvBuffer', f[1]]] : 'expects "min default max"') },
  { sysctl: 'net.ipv4.tcp_wmem', meaning: 'tcpSendBuffer = the middle (default) value', map: (f) => (f.length === 3 ? [['tcpSendBuffer', f[1]]] : 'expects "min default max"') },
  {
    sysctl: 'net.ipv4.tcp_fastopen',
    meaning: 'tcpFastOpen = the client (1) and server (2) bits (the 0x200/0x400 flags have no equivalent: cookies are always used)',
    map: (f) => (f.length === 1 ? [['tcpFastOpen', f[0] & 3]] : `expects one number, got ${f.length}`),
  },
  { sysctl: 'net.ipv4.tcp_syncookies', meaning: 'tcpSynCookies (0 never, 1 when a SYN queue is full, 2 always; same values)', map: one('tcpSynCookies') },
  { sysctl: 'net.ipv4.tcp_recovery', meaning: 'tcpRack = bit 0x1 (RACK-TLP loss detection, RFC 8985; Linux\'s default 1)', map: (f) => (f.length === 1 ? [['tcpRack', f[0] & 1]] : `expects one number, got ${f.length}`) },
  { sysctl: 'net.ipv4.tcp_ecn', meaning: 'tcpEcn (0 off, 1 request and accept, 2 accept only; same values)', map: one('tcpEcn') },
  { sysctl: 'net.ipv4.tcp_syn_retries', meaning: 'tcpSynRetries', map: one('tcpSynRetries') },
  { sysctl: 'net.ipv4.tcp_synack_retries', meaning: 'tcpSynAckRetries', map: one('tcpSynAckRetries') },
  { sysctl: 'net.ipv4.tcp_fin_timeout', meaning: 'tcpTimeWaitMs = value * 1000 (the stack uses one limit for TIME-WAIT and orphaned FIN-WAIT-2)', map: one('tcpTimeWaitMs', 1000) },
  { sysctl: 'net.ipv4.tcp_rto_min_us', meaning: 'tcpMinRtoMs = value / 1000, rounded up', map: one('tcpMinRtoMs', 1 / 1000) },
  { sysctl: 'net.ipv4.tcp_rto_max_ms', meaning: 'tcpMaxRtoMs', map: one('tcpMaxRtoMs') },
  { sysctl: 'net.ipv4.tcp_challenge_ack_limit', meaning: 'tcpChallengeAcksPerSec', map: one('tcpChallengeAcksPerSec') },
  { sysctl: 'net.ipv4.icmp_msgs_per_sec', meaning: 'icmpErrorsPerSec', map: one('icmpErrorsPerSec') },
  { sysctl: 'net.ipv4.ip_local_port_range', meaning: 'ephemeralLow, ephemeralHigh', map: (f) => (f.length === 2 ? [['ephemeralLow', f[0]], ['ephemeralHigh', f[1]]] : 'expects "low high"') },
];

export type ShellOutcome =
  | { kind: 'set'; sysctl: string; settings: Array<[string, number]> }
  | { kind: 'ignored'; text: string; reason: string };

/** Splits a shell line into simple commands and maps each one. */
export function interpretShellLine(line: string, configKeys: readonly string[]): ShellOutcome[] {
  const out: ShellOutcome[] = [];
  for (const raw of line.split(/;|&&|\n/)) {
    const cmd = raw.trim();
    if (cmd === '') continue;
    out.push(...interpretCommand(cmd, configKeys));
  }
  return out;
}

function interpretCommand(cmd: string, configKeys: readonly string[]): ShellOutcome[] {
  const words = cmd.split(/\s+/);
  if (words[0] === 'sysctl') {
    const out: ShellOutcome[] = [];
    const rest = words.slice(1).filter((w) => !w.startsWith('-'));
    // Values may contain blanks when quoted: rejoin "name=a b c" style arguments.
    const joined = rest.join(' ').replace(/["']/g, '');
    const assignments = joined.split(/\s+(?=[a-z0-9_.\/]+=)/i);
    if (assignments.length === 0 || !joined.includes('=')) {
      return [{ kind: 'ignored', text: cmd, reason: 'a sysctl read has no effect on the stack' }];
    }
    for (const a of assignments) {
      const eq = a.indexOf('=');
      out.push(apply(a.slice(0, eq).trim().replace(/\//g, '.'), a.slice(eq + 1).trim(), cmd, configKeys));
    }
    return out;
  }
  const echo = /^echo\s+(?:-n\s+)?["']?([^"'>]*?)["']?\s*>\s*\/proc\/sys\/(\S+)$/.exec(cmd);
  if (echo) return [apply(echo[2].replace(/\//g, '.'), echo[1].trim(), cmd, configKeys)];
  return [{ kind: 'ignored', text: cmd, reason: 'not a sysctl setting (shell commands are not run)' }];
}

function apply(name: string, value: string, text: string, configKeys: readonly string[]): ShellOutcome {
  const rule = SYSCTL_RULES.find((r) => r.sysctl === name);
  if (!rule) return { kind: 'ignored', text, reason: `the stack has no equivalent of ${name}` };
  const fields = value.split(/\s+/).filter(Boolean).map(Number);
  if (fields.length === 0 || fields.some((v) => !Number.isFinite(v) || v < 0)) {
    return { kind: 'ignored', text, reason: `${name}: value ${JSON.stringify(value)} is not a list of non-negative numbers` };
  }
  const mapped = rule.map(fields);
  if (typeof mapped === 'string') return { kind: 'ignored', text, reason: `${name} ${mapped}` };
  const missing = mapped.find(([key]) => !configKeys.includes(key));
  if (missing) return { kind: 'ignored', text, reason: `this stack build has no config slot ${missing[0]} for ${name}` };
  return { kind: 'set', sysctl: name, settings: mapped };
}
