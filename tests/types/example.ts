// Type check of the public API as a user writes it (tests/net-types.test.mjs runs
// `tsc --noEmit` on this file against the package's shipped .d.ts files).
import { createStack, MemoryLink, VirtualClock, type Socket, type Stack, type CloseResult, type RemoteInfo } from 'wasm-tcpip';

const [a, b] = MemoryLink.pair({ seed: 1 });
const server: Stack = await createStack({ link: a, address: '10.0.0.1/24' });
const client = await createStack({ link: b, address: '10.0.0.2/24', clock: new VirtualClock(), seed: 7, tcp: { sendBuffer: 65536, noDelay: true } });
server.net.createServer((s: Socket) => s.pipe(s)).listen(7);
const sock = client.net.connect({ host: '10.0.0.1', port: 7 });
sock.on('connect', () => {
  const port: number | undefined = sock.localPort;
  const wrote: boolean = sock.write(`hello from ${port}`);
  if (!wrote) sock.once('drain', () => sock.end());
});
sock.setNoDelay(true).setKeepAlive(true, 1000).setTimeout(5000, () => sock.destroy());
sock.on('error', (err: NodeJS.ErrnoException) => console.error(err.code, err.syscall));
// Event listeners are typed: `hadError` is a boolean, `socket` a stack Socket, `data` a Buffer.
sock.on('close', (hadError) => { const failed: boolean = hadError; console.log(failed); });
sock.on('data', (data) => { const n: number = data.byteLength; console.log(n); });
const plain = server.net.createServer().listen({ port: 8, backlog: 16 });
plain.on('connection', (socket) => { const peer: string | undefined = socket.remoteAddress; socket.end(peer); });
plain.on('drop', (info) => console.log(info.remoteAddress));

const udp = server.dgram.createSocket('udp4', (msg: Buffer, rinfo: RemoteInfo) => {
  udp.send(msg, rinfo.port, rinfo.address);
});
udp.on('message', (msg, rinfo) => { const size: number = msg.length + rinfo.size; console.log(size); });
udp.bind(53);

const counters: Record<string, number> = client.counters();
const closed: CloseResult = await client.close({ timeoutMs: 1000 });
console.log(counters['tcp.conn.established'], closed.drained + closed.reset);
await server.close();
