// Application module of tests/workers.test.mjs: each worker opens CONNECTIONS connections to the
// echo server of the peer stack (10.0.0.2:9), sends each a distinct message and checks the echo.
// Starting resolves when all are done, so `createStack` resolves after them.
export const CONNECTIONS = 8;

function echoOnce(stack, worker, i) {
  return new Promise((resolve, reject) => {
    const message = `worker ${worker} connection ${i} `.repeat(100);
    const socket = stack.net.connect({ host: '10.0.0.2', port: 9 });
    let got = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => { got += d; });
    socket.on('error', reject);
    socket.on('close', () => (got === message ? resolve() : reject(new Error(`worker ${worker} connection ${i}: echo differs`))));
    socket.end(message);
  });
}

export default async function start({ stack, worker }) {
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => echoOnce(stack, worker, i)));
}
