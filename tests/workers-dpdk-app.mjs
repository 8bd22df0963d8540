// Application module of tests/workers-dpdk.test.mjs. On the server side (10.0.0.1) each worker
// serves echo on port 9; on the client side each worker opens CONNECTIONS connections to it,
// checks each echo, and resolves when all are done.
export const CONNECTIONS = 6;

function echoOnce(stack, worker, i) {
  return new Promise((resolve, reject) => {
    const message = Buffer.alloc(100_000 + i, `w${worker}c${i}`);
    const socket = stack.net.connect({ host: '10.0.0.1', port: 9 });
    const chunks = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => (Buffer.concat(chunks).equals(message) ? resolve() : reject(new Error(`worker ${worker} connection ${i}: echo differs`))));
    socket.end(message);
  });
}

export default function start({ stack, worker }) {
  if (stack.address === '10.0.0.1') {
    return new Promise((resolve) => stack.net.createServer((s) => s.pipe(s)).listen(9, resolve));
  }
  return Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => echoOnce(stack, worker, i)));
}
