// Application module of tests/workers-udp.test.mjs: in each worker, SOCKETS UDP client sockets
// (bound implicitly by their first send) each exchange ROUNDS datagrams, one at a time, with
// the peer's echo at 10.0.0.2:7. A datagram names its worker, socket and round; every reply
// must be the datagram sent. Starting resolves when all are done, so `createStack` resolves
// after them; a reply that does not come within REPLY_DEADLINE_MS fails the worker (a lost
// datagram would otherwise hang the test).
export const SOCKETS = 2;
export const ROUNDS = 16;
const REPLY_DEADLINE_MS = 5000;

function exchange(stack, worker, index) {
  return new Promise((resolve, reject) => {
    const socket = stack.dgram.createSocket('udp4');
    let round = 0;
    let timer = null;
    const message = () => Buffer.from(`worker ${worker} socket ${index} round ${round} `.padEnd(64 + 16 * round, '.'));
    const fail = (error) => { clearTimeout(timer); socket.close(); reject(error); };
    const sendNext = () => {
      clearTimeout(timer);
      timer = setTimeout(() => fail(new Error(`worker ${worker} socket ${index}: no reply to round ${round}`)), REPLY_DEADLINE_MS);
      socket.send(message(), 7, '10.0.0.2');
    };
    socket.on('error', fail);
    socket.on('message', (got, rinfo) => {
      if (!got.equals(message()) || rinfo.address !== '10.0.0.2' || rinfo.port !== 7) {
        fail(new Error(`worker ${worker} socket ${index}: round ${round} got ${JSON.stringify(String(got))} from ${rinfo.address}:${rinfo.port}`));
        return;
      }
      if (++round < ROUNDS) { sendNext(); return; }
      clearTimeout(timer);
      socket.close(() => resolve());
    });
    sendNext();
  });
}

export default async function start({ stack, worker }) {
  await Promise.all(Array.from({ length: SOCKETS }, (_, i) => exchange(stack, worker, i)));
}
