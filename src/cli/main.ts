#!/usr/bin/env node
// wasm-tcpip command line: `wasm-tcpip <command> [options]`, `wasm-tcpip --help`.
//
// Commands are loaded only when run, so one command's missing dependency (say, no libdpdk)
// never breaks the others or the help text.

import type { Command } from './command.js';
import { UsageError } from './command.js';

interface Entry { name: string; summary: string }

const COMMANDS: Entry[] = [
  { name: 'demo', summary: 'Run the stack with an HTTP server: on a net_tap device with root, else between two stacks in memory' },
  { name: 'perf', summary: 'Measure TCP goodput between two stacks (memory link) or from the kernel over a tap; prints JSON with --json' },
  { name: 'replay', summary: 'Feed a pcap to a stack on a virtual clock, record its output, compare with a golden capture' },
  { name: 'pktdrill', summary: 'Run packetdrill-syntax scripts (.pkt files or folders) against the stack' },
];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: wasm-tcpip <command> [options]',
    '',
    'A user-space TCP/IP stack in WebAssembly, on DPDK queues or in-process links.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `wasm-tcpip <command> --help` for a command\'s options.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 2;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    console.error(`wasm-tcpip: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  const { command } = (await import(`./${entry.name}.js`)) as { command: Command };
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`wasm-tcpip ${name}: ${e.message}\n\n${command.usage}`);
      return 2;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: NodeJS.ErrnoException) => {
    console.error(`wasm-tcpip: ${err.message}${err.code ? ` (${err.code})` : ''}`);
    process.exitCode = 1;
  },
);
