// Must NOT type-check (tests/net-types.test.mjs expects exactly this error): a misspelt option.
import { createStack, MemoryLink } from 'wasm-tcpip';

const [a] = MemoryLink.pair({ seed: 1 });
await createStack({ link: a, address: '10.0.0.1/24', adress: '10.0.0.1/24' });
