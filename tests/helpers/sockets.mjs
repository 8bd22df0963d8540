// Stream socket helpers for tests that move bytes through net-compatible sockets (the stack's,
// the bridge's or Node's own) and compare what comes back.

/** Sends `data` on a connected socket, ends it, resolves with everything read until 'close'. */
export function exchange(socket, data) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.end(data);
  });
}
