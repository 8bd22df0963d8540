// Two stacks joined by a MemoryLink pair, for the host API tests: 10.0.0.1 (server side) and
// 10.0.0.2 (client side), on one shared clock (virtual unless a test passes 'real').
import { createStack, MemoryLink, VirtualClock } from '../dist/index.js';

export async function stackPair({ clock = new VirtualClock(), link = {}, server = {}, client = {} } = {}) {
  const [a, b] = MemoryLink.pair({ seed: 1, ...link });
  const s = await createStack({ link: a, address: '10.0.0.1/24', clock, seed: 11, ...server });
  const c = await createStack({ link: b, address: '10.0.0.2/24', clock, seed: 22, ...client });
  return { server: s, client: c, clock, links: [a, b] };
}

/** Resolves with the first emission of `event` (its arguments as an array). */
export function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
}

/** Collects a readable stream into one Buffer. */
export function collect(stream) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    stream.on('data', (d) => chunks.push(d));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}
