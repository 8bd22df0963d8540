// Application module of tests/interop-queues.test.mjs, run in every worker beside its stack:
// the demo HTTP service (GET /bytes/N?seed=S with x-sha256) on port 8080 and echo on port 7.
import { serveDemoHttp } from '../dist/demo/http-app.js';

export default async function start({ stack }) {
  await serveDemoHttp(stack, 8080);
  await new Promise((resolve) => stack.net.createServer((socket) => socket.pipe(socket)).listen(7, resolve));
}
