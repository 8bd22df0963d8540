// An echo server and a client on two stacks joined by an in-process MemoryLink.
//
//   node examples/echo.mjs
//
// Both stacks run in this process: no privileges, no network device. Swap the MemoryLink for
// a DpdkLink to serve a real NIC with the same code.
import { createInterface } from 'node:readline';
import { createStack, MemoryLink } from 'wasm-tcpip';

const [serverLink, clientLink] = MemoryLink.pair({ seed: 1, delay: '200us' });
const server = await createStack({ link: serverLink, address: '10.0.0.1/24' });
const client = await createStack({ link: clientLink, address: '10.0.0.2/24' });

const echo = server.net.createServer((socket) => {
  console.log(`server: connection from ${socket.remoteAddress}:${socket.remotePort}`);
  socket.pipe(socket);
});
echo.listen(7, () => console.log(`server: listening on ${server.address}:${echo.address().port}`));

const socket = client.net.connect({ host: '10.0.0.1', port: 7 }, () => {
  console.log(`client: connected from ${socket.localAddress}:${socket.localPort}`);
  for (const line of ['hello', 'from a TCP stack', 'written in AssemblyScript']) socket.write(`${line}\n`);
  socket.end();
});
createInterface({ input: socket }).on('line', (line) => console.log(`client: echoed '${line}'`));
socket.on('close', async (hadError) => {
  console.log(`client: closed${hadError ? ' with an error' : ''}; ${socket.bytesWritten} bytes sent, ${socket.bytesRead} received`);
  echo.close();
  const c = await client.close();
  const s = await server.close();
  console.log(`stacks closed: server ${JSON.stringify(s)}, client ${JSON.stringify(c)}`);
  const counters = server.counters();
  console.log(`server counters: ${counters['tcp.rx.segments']} TCP segments in, ${counters['tcp.tx.segments']} out`);
});
