// `wasm-tcpip replay <in.pcap> --config <stack.json> --out <out.pcap> [--expect <golden.pcap>]`:
// feeds a capture to a stack on a virtual clock, records its input and output, and compares
// the recording with a golden one. Exit code 0 when identical (or no --expect), 1 when it
// differs, 2 for usage errors.

import { existsSync } from 'node:fs';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { readReplayConfig } from '../replay/config.js';
import { runReplay } from '../replay/replay.js';
import { comparePcaps, formatDifference } from '../replay/compare.js';
import { runPeerReplay } from '../replay/peer.js';

const usage = `Usage: wasm-tcpip replay <in.pcap> --config <stack.json> --out <out.pcap> [options]
       wasm-tcpip replay --peer <conversation.pcap> [--play opener|acceptor] [--port N] [--json]

Feeds the frames of <in.pcap> that are addressed to the stack (its MAC, or broadcast) at the
capture's timestamps on a virtual clock, and records every frame in and out to <out.pcap>.
The same capture and configuration always give a byte-identical <out.pcap>.

stack.json: { "address": "10.0.0.2/24", "mac": "02:00:00:00:00:02", "gateway"?, "mtu"?,
  "seed"?, "config"?: { <config slot>: N }, "listen"?: [{ "port": 7, "app": "echo"|"discard" }],
  "connect"?: [{ "to": "10.0.0.1", "port": 9, "atMs": 0, "send": N }] }

Options:
  --config <file>    the stack configuration (required)
  --out <file>       the recording to write (required)
  --expect <file>    a golden recording: print the first difference (frame, field, expected,
                     actual) and exit 1 when they differ
  --drain-ms <N>     keep running N ms after the last input frame (default 2000)
  --json             print one JSON object with the counts and the comparison
  --debug            use the debug build of the stack

Peer replay (--peer): one side of a captured TCP conversation (a Linux client or server) is
played against the stack, which takes the other side's place: addresses, ports, ACK numbers
and timestamps are rewritten onto the stack. Prints whether the stack delivered the same byte
stream and every segment the recorded peer would not have accepted; exits 1 if either check
fails. The side the stack replaces must not have sent data in the capture.
  --play <side>      the side played against the stack: opener (default: the stack is the
                     server) or acceptor (the stack connects, as the client did)
  --port <N>         the stack's port (default: the replaced side's)`;

export const command: Command = {
  name: 'replay',
  summary: 'Feed a pcap to a stack on a virtual clock, record its output, compare with a golden capture',
  usage,
  async run(argv: string[]): Promise<number> {
    let input: string | undefined, config: string | undefined, out: string | undefined, expect: string | undefined;
    let json = false, debug = false, drainMs = 2000, peer = false, port: number | undefined;
    let play: 'opener' | 'acceptor' = 'opener';
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      const value = (): string => {
        const v = argv[++i];
        if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
        return v;
      };
      if (a === '--config') config = value();
      else if (a === '--out') out = value();
      else if (a === '--expect') expect = value();
      else if (a === '--drain-ms') {
        drainMs = Number(value());
        if (!Number.isFinite(drainMs) || drainMs < 0) throw new UsageError('--drain-ms needs a non-negative number');
      } else if (a === '--port') {
        port = Number(value());
        if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError('--port needs a port from 1 to 65535');
      } else if (a === '--play') {
        const v = value();
        if (v !== 'opener' && v !== 'acceptor') throw new UsageError('--play is opener or acceptor');
        play = v;
      } else if (a === '--json') json = true;
      else if (a === '--peer') peer = true;
      else if (a === '--debug') debug = true;
      else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
      else if (input === undefined) input = a;
      else throw new UsageError(`one input capture only (got ${input} and ${a})`);
    }
    if (!input) throw new UsageError('give the input capture <in.pcap>');
    if (peer) {
      if (!existsSync(input)) throw new UsageError(`input ${input} does not exist`);
      const r = runPeerReplay({ capture: input, play, ...(port !== undefined ? { stack: { port } } : {}) });
      const ok = r.streamIdentical && r.violations.length === 0;
      if (json) console.log(JSON.stringify(r, null, 2));
      else {
        console.log(`peer replay: ${r.segmentsIn} segments played, ${r.segmentsOut} sent by the stack; ` +
          `stream ${r.streamIdentical ? 'identical' : 'DIFFERENT'} (${r.deliveredBytes} of ${r.expectedBytes} bytes delivered)` +
          `${r.closed ? ', connection closed' : ''}`);
        for (const v of r.violations) console.log(`  not acceptable to the recorded peer: ${v}`);
      }
      return ok ? 0 : 1;
    }
    if (!config) throw new UsageError('--config <stack.json> is required');
    if (!out) throw new UsageError('--out <out.pcap> is required');
    for (const [flag, p] of [['input', input], ['--config', config], ['--expect', expect]] as const) {
      if (p !== undefined && !existsSync(p)) throw new UsageError(`${flag} ${p} does not exist`);
    }
    const result = await runReplay({ input, config: readReplayConfig(config), out, drainUs: drainMs * 1000, debug });
    const comparison = expect ? comparePcaps(out, expect) : undefined;
    if (json) {
      console.log(JSON.stringify({ ...result, out, comparison }, null, 2));
    } else {
      console.log(`replay: ${result.framesIn} frames in, ${result.framesOut} frames out (${result.filtered} not addressed to the stack) -> ${out}`);
      if (comparison) {
        console.log(comparison.identical
          ? `replay: identical to ${expect} (${comparison.framesExpected} frames)`
          : `replay: differs from ${expect}: ${formatDifference(comparison.difference!)}`);
      }
    }
    return comparison && !comparison.identical ? 1 : 0;
  },
};
