// The shape of a CLI command module (src/cli/<name>.ts).

export interface Command {
  readonly name: string;
  /** One line for `wasm-tcpip --help`. */
  readonly summary: string;
  /** Full usage text for `wasm-tcpip <name> --help`. */
  readonly usage: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}

/** Thrown for bad command-line arguments: printed with the usage, exit code 2. */
export class UsageError extends Error {
  readonly code = 'ERR_WASM_TCPIP_USAGE';
}

/** Runs an argument parser, turning what it throws into a UsageError. */
export function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
