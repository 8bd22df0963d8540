// node:tls over stack sockets: a TLS server made with new tls.TLSSocket(socket, { isServer })
// and a client made with tls.connect({ socket }), with a self-signed certificate made at test
// time by openssl; the client verifies it (IP address SAN) and data crosses both ways intact.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import tls from 'node:tls';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { stackPair, once } from './net-pair.mjs';

/** A fresh self-signed certificate for 10.0.0.1 (openssl is part of the test setup). */
function selfSigned() {
  const dir = mkdtempSync(join(tmpdir(), 'wasm-tcpip-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
      '-subj', '/CN=wasm-tcpip test server', '-addext', 'subjectAltName=IP:10.0.0.1',
    ], { stdio: 'pipe' });
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } catch (e) {
    if (e.code === 'ENOENT') throw new Error('tls.test.mjs makes its certificate with openssl: install it (apt-get install openssl)');
    throw e;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('TLS handshake with certificate verification, then data both ways', async () => {
  const { key, cert } = selfSigned();
  const { server, client } = await stackPair();
  const tcp = server.net.createServer((socket) => {
    const secure = new tls.TLSSocket(socket, { isServer: true, key, cert });
    secure.on('data', (d) => secure.write(d.toString().toUpperCase()));
    secure.on('end', () => secure.end());
  }).listen(443);
  await once(tcp, 'listening');

  const conn = tls.connect({ socket: client.net.connect({ host: '10.0.0.1', port: 443 }), host: '10.0.0.1', ca: cert });
  await once(conn, 'secureConnect');
  assert.is(conn.authorized, true, String(conn.authorizationError));
  assert.is(conn.getPeerCertificate().subject.CN, 'wasm-tcpip test server');
  assert.ok(['TLSv1.2', 'TLSv1.3'].includes(conn.getProtocol()));
  conn.write('hello over tls');
  const [reply] = await once(conn, 'data');
  assert.is(reply.toString(), 'HELLO OVER TLS');
  conn.end();
  await once(conn, 'close');
  tcp.close();
  await Promise.all([server.close(), client.close()]);
});

test('an untrusted certificate is refused by the client', async () => {
  const { key, cert } = selfSigned();
  const other = selfSigned();
  const { server, client } = await stackPair();
  const tcp = server.net.createServer((socket) => {
    const secure = new tls.TLSSocket(socket, { isServer: true, key, cert });
    secure.on('error', () => {});
  }).listen(443);
  await once(tcp, 'listening');
  const conn = tls.connect({ socket: client.net.connect({ host: '10.0.0.1', port: 443 }), host: '10.0.0.1', ca: other.cert });
  const [err] = await once(conn, 'error');
  assert.is(err.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
  tcp.close();
  await Promise.all([server.close(), client.close()]);
});

test('8 MiB through TLS arrive intact', async () => {
  const { key, cert } = selfSigned();
  const { server, client } = await stackPair();
  const data = Buffer.alloc(8 * 1024 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >> 13)) & 255;
  const received = new Promise((resolve) => {
    server.net.createServer((socket) => {
      const secure = new tls.TLSSocket(socket, { isServer: true, key, cert });
      const hash = createHash('sha256');
      let n = 0;
      secure.on('data', (d) => { hash.update(d); n += d.length; });
      secure.on('end', () => { secure.end(); resolve([n, hash.digest('hex')]); });
    }).listen(443);
  });
  const conn = tls.connect({ socket: client.net.connect({ host: '10.0.0.1', port: 443 }), host: '10.0.0.1', ca: cert });
  await once(conn, 'secureConnect');
  conn.end(data);
  const [n, hex] = await received;
  assert.is(n, data.length);
  assert.is(hex, createHash('sha256').update(data).digest('hex'));
  await Promise.all([server.close(), client.close()]);
});

test.run();
