// `wasm-tcpip pktdrill <file.pkt | dir>...`: runs packetdrill-syntax scripts against the stack
// on a virtual clock. Exit code 0 when every script passed, 1 when any failed, 2 for usage.

import { existsSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { runSuite } from '../pktdrill/suite.js';
import { formatTrace, type ScriptResult } from '../pktdrill/runner.js';
import { PcapWriter } from '../pcap/writer.js';

const usage = `Usage: wasm-tcpip pktdrill [options] <file.pkt | dir>...

Runs packetdrill scripts (folders are searched for *.pkt) against the WASM stack on a
virtual clock and prints PASS/FAIL per script; a failure shows the script line, what was
expected and what the stack did.

Options:
  --json       print one JSON object { total, passed, failed, scripts: [{file, passed, error?, warnings}] }
  --lenient    window values and TCP option differences on outbound segments are warnings
  --seed N     stack seed (ISNs, ephemeral ports); default 1
  --debug      use the debug build of the stack (build/stack.debug.wasm)
  --verbose    print warnings (ignored lines, lenient differences) for passing scripts too
  --trace      print every frame in and out of each script (live sequence numbers, ARP included)
  --pcap DIR   write every frame in and out of each script to DIR/<script>.pcap (Wireshark)`;

export const command: Command = {
  name: 'pktdrill',
  summary: 'Run packetdrill-syntax scripts (.pkt files or folders) against the stack',
  usage,
  async run(argv: string[]): Promise<number> {
    let json = false, lenient = false, debug = false, verbose = false, trace = false, seed = 1;
    let pcapDir: string | undefined;
    const paths: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (a === '--json') json = true;
      else if (a === '--lenient') lenient = true;
      else if (a === '--debug') debug = true;
      else if (a === '--verbose' || a === '-v') verbose = true;
      else if (a === '--trace') trace = true;
      else if (a === '--pcap') {
        pcapDir = argv[++i];
        if (pcapDir === undefined || pcapDir.startsWith('--')) throw new UsageError('--pcap needs a folder');
      }
      else if (a === '--seed') {
        seed = Number(argv[++i]);
        if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UsageError('--seed needs an integer from 0 to 4294967295');
      } else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
      else paths.push(a);
    }
    if (paths.length === 0) throw new UsageError('give at least one .pkt file or folder');
    for (const p of paths) if (!existsSync(p)) throw new UsageError(`${p} does not exist`);
    if (pcapDir !== undefined) mkdirSync(pcapDir, { recursive: true });
    const save = (r: ScriptResult): void => {
      if (pcapDir === undefined || !r.trace) return;
      const w = PcapWriter.open(join(pcapDir, `${basename(r.file, '.pkt')}.pcap`));
      for (const f of r.trace) w.write(f.bytes, 0, f.bytes.length, f.timeUs);
      w.close();
    };
    const result = runSuite(paths, { lenient, debug, seed }, json ? save : (r) => {
      save(r);
      console.log(`${r.passed ? 'PASS' : 'FAIL'} ${r.file}`);
      if (!r.passed && r.error) console.log(r.error.split('\n').map((l) => `  ${l}`).join('\n'));
      if (!r.passed || verbose) for (const w of r.warnings) console.log(`  warning: ${w}`);
      if (trace && r.trace) for (const line of formatTrace(r.trace)) console.log(`    ${line}`);
    });
    if (json) console.log(JSON.stringify(result, null, 2));
    else console.log(`pktdrill: ${result.total} scripts, ${result.passed} passed, ${result.failed} failed`);
    return result.failed === 0 && result.total > 0 ? 0 : 1;
  },
};
