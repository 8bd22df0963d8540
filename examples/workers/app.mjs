// The application of examples/workers/server.mjs: this module runs in every worker thread,
// beside that worker's stack, so its handlers answer with no thread hop. Each worker listens
// on port 8080 itself: the port's queues spread connections over the workers (RSS), and each
// worker accepts the ones its queue owns.
import http from 'node:http';

export default function start({ stack, worker, workers }) {
  const app = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`worker ${worker} of ${workers} served ${req.url} to ${req.socket.remoteAddress}:${req.socket.remotePort}\n`);
  });
  const tcp = stack.net.createServer((socket) => app.emit('connection', socket));
  // Resolving tells createStack this worker is ready.
  return new Promise((resolve) => tcp.listen(8080, resolve));
}
