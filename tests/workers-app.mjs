// Application module of tests/workers.test.mjs: runs in every worker, beside its stack, and
// serves echo on port 7. Its default export is what `createStack({ workers, app })` calls.
export default function start({ stack }) {
  return new Promise((resolve) => {
    stack.net.createServer((socket) => socket.pipe(socket)).listen(7, resolve);
  });
}
