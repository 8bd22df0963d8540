// TCP Fast Open between two stacks (RFC 7413) over a MemoryLink with 10 ms one-way delay, on
// a virtual clock: the first connection learns a cookie and its request reaches the server's
// application after the handshake (1.5 RTT); the second carries the request in its SYN and
// reaches it one RTT earlier (0.5 RTT). Times are virtual, so they are exact.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stackPair, once, collect } from './net-pair.mjs';
import { createStack, MemoryLink } from '../dist/index.js';

const ONE_WAY_US = 10_000;

test('the second connection\'s request arrives in the SYN: one RTT earlier than the first\'s', async () => {
  const { server, client, clock } = await stackPair({
    link: { delay: ONE_WAY_US },
    server: { tcp: { fastOpen: 'server' } },
    client: { tcp: { fastOpen: 'client' } },
  });
  const arrivals = [];
  const srv = server.net.createServer({ fastOpen: { queue: 8 } }, (socket) => {
    socket.once('data', (d) => {
      arrivals.push({ atUs: clock.nowUs(), request: d.toString() });
      socket.end('ok');
    });
  });
  srv.listen(80);
  await once(srv, 'listening');

  const exchange = async (request, fastOpen = true) => {
    const startUs = clock.nowUs();
    const sock = client.net.connect({ host: '10.0.0.1', port: 80, fastOpen });
    sock.write(request);
    const reply = await collect(sock);
    return { startUs, reply: reply.toString() };
  };
  // A plain connection first, so that ARP is resolved and times compare handshakes only.
  await exchange('warm-up', false);
  const first = await exchange('first request');
  const second = await exchange('second request');
  assert.is(first.reply, 'ok');
  assert.is(second.reply, 'ok');
  assert.equal(arrivals.map((a) => a.request), ['warm-up', 'first request', 'second request']);
  const firstDelay = arrivals[1].atUs - first.startUs;
  const secondDelay = arrivals[2].atUs - second.startUs;
  assert.is(firstDelay, 3 * ONE_WAY_US);
  assert.is(secondDelay, ONE_WAY_US);

  const s = server.counters();
  const c = client.counters();
  assert.is(s['tcp.tfo.cookie_requests'], 1);
  assert.is(s['tcp.tfo.accepted_syn_data'], 1);
  assert.is(c['tcp.tfo.client_cookie_requests'], 1);
  assert.is(c['tcp.tfo.client_cookies_cached'], 1);
  assert.is(c['tcp.tfo.client_syn_data'], 1);
  assert.is(c['tcp.tfo.client_syn_data_acked'], 1);
  srv.close();
  await Promise.all([server.close(), client.close()]);
});

test('connect({ fastOpen: true }) on a stack without the client side: ERR_WASM_TCPIP_FASTOPEN_OFF', async () => {
  const { server, client } = await stackPair({ server: { tcp: { fastOpen: 'server' } } });
  const sock = client.net.connect({ host: '10.0.0.1', port: 80, fastOpen: true });
  const [err] = await once(sock, 'error');
  assert.is(err.code, 'ERR_WASM_TCPIP_FASTOPEN_OFF');
  const srv = server.net.createServer({ fastOpen: { queue: 8 } });
  const clientSrv = client.net.createServer({ fastOpen: { queue: 8 } });
  clientSrv.listen(81);
  const [err2] = await once(clientSrv, 'error');
  assert.is(err2.code, 'ERR_WASM_TCPIP_FASTOPEN_OFF');
  srv.close();
  await Promise.all([server.close(), client.close()]);
});

test('createStack: tcp.fastOpen takes true, false, \'server\' or \'client\'', async () => {
  const [a] = MemoryLink.pair({ seed: 1 });
  let err = null;
  try { await createStack({ link: a, address: '10.0.0.1/24', tcp: { fastOpen: 'both' } }); } catch (e) { err = e; }
  assert.ok(err instanceof TypeError);
  assert.match(err.message, /options\.tcp\.fastOpen must be true, false, 'server' or 'client'/);
});

test.run();
