// Application module of tests/workers.test.mjs: a server whose handler throws an uncaught
// exception on its first connection (a crashing application), in whichever worker accepted it.
export default function start({ stack, worker }) {
  stack.net.createServer((socket) => {
    socket.on('data', () => { throw new Error(`application failure in worker ${worker}`); });
  }).listen(7);
}
