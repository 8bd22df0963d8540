// An HTTPS server and client on two stacks over a MemoryLink: node:https and node:tls on top
// of stack sockets, with a self-signed certificate made on the spot by openssl.
//
//   node examples/https.mjs
//
import https from 'node:https';
import tls from 'node:tls';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStack, MemoryLink } from 'wasm-tcpip';

function selfSignedCertificate(ip) {
  const dir = mkdtempSync(join(tmpdir(), 'wasm-tcpip-example-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
      '-subj', '/CN=wasm-tcpip example', '-addext', `subjectAltName=IP:${ip}`,
    ], { stdio: 'pipe' });
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } catch (e) {
    if (e.code === 'ENOENT') {
      console.error('this example makes a certificate with openssl: install it (apt-get install openssl)');
      process.exit(1);
    }
    throw e;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const { key, cert } = selfSignedCertificate('10.0.0.1');
const [serverLink, clientLink] = MemoryLink.pair({ seed: 1, delay: '500us' });
const server = await createStack({ link: serverLink, address: '10.0.0.1/24' });
const client = await createStack({ link: clientLink, address: '10.0.0.2/24' });

const app = https.createServer({ key, cert }, (req, res) => {
  res.end(`a secret, sent over ${req.socket.getProtocol()}\n`);
});
const tcp = server.net.createServer((socket) => app.emit('connection', socket));
tcp.listen(443, () => console.log('server: node:https listening on https://10.0.0.1/'));

const body = await new Promise((resolve, reject) => {
  const req = https.get({
    host: '10.0.0.1',
    path: '/',
    ca: cert,
    // TLS over a stack connection; the certificate is checked against host 10.0.0.1.
    createConnection: () => tls.connect({ socket: client.net.connect({ host: '10.0.0.1', port: 443 }), host: '10.0.0.1', ca: cert }),
  }, (res) => {
    const socket = res.socket;
    console.log(`client: certificate for '${socket.getPeerCertificate().subject.CN}' verified: ${socket.authorized}`);
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk) => { text += chunk; });
    res.on('end', () => resolve(`${res.statusCode} ${text.trim()}`));
  });
  req.on('error', reject);
});
console.log(`client: GET / -> ${body}`);

app.close();
tcp.close();
// The client first: its connections finish while the server stack still answers.
const c = await client.close();
const s = await server.close();
console.log(`stacks closed: server ${JSON.stringify(s)}, client ${JSON.stringify(c)}`);
