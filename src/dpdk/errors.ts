// The error class of the DPDK host side.
//
// Guarantees: every error it builds has a stable `code` (ERR_WASM_TCPIP_NO_DPDK,
// ERR_WASM_TCPIP_DPDK_*) and a message that names the fix; errors the native shim throws
// already have that shape and pass through unchanged.

export class DpdkError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(`wasm-tcpip: ${message}`, options);
    this.name = 'Error';
    this.code = code;
  }
}
