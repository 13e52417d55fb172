// TLS in-process (RT_TLS_CERT / RT_TLS_KEY): wss:// and https:// on the one port with real
// pusher-js and the `pusher` SDK, certificate reload on SIGHUP with connections kept open, and
// a bad certificate or key refused at start with one line naming the setting.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import {
  MASTER_KEY, RTSERVER, createDatabase, createApp, freePort, startServer, waitFor,
} from '../harness/index.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(path.join(os.tmpdir(), 'rt-tls-'));

/** A self-signed certificate for 127.0.0.1 (it is its own CA). Returns {cert, key}. */
function makeCert(name) {
  const cert = path.join(dir, `${name}.crt`), key = path.join(dir, `${name}.key`);
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { cert, key };
}

/** The certificate a fresh TLS handshake presents (its subject CN). */
function peerCn(port, ca) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const cn = s.getPeerCertificate().subject.CN;
      s.end();
      resolve(cn);
    });
    s.on('error', reject);
  });
}

async function readyOverHttps(server, ca) {
  await waitFor(() => new Promise((resolve) => {
    https.get({ host: '127.0.0.1', port: server.port, path: '/ready', ca }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    }).on('error', () => resolve(false));
  }), 10000, 'rtserver to answer over https');
}

/**
 * Runs tls_client.mjs in a child process that trusts ca (NODE_EXTRA_CA_CERTS must be set
 * before node starts): real pusher-js with forceTLS and the `pusher` SDK over https.
 */
function runClient(args, ca) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(here, 'tls_client.mjs'), JSON.stringify(args)], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: ca },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => resolve({ code, out: out.trim(), err }));
  });
}

describe('wss:// and https:// on the one port', { timeout: 60000 }, () => {
  let db, app, server, first, live;
  before(async () => {
    db = createDatabase();
    app = createApp(db, ['--require-tls'], 'tls');
    first = makeCert('first');
    live = { cert: path.join(dir, 'live.crt'), key: path.join(dir, 'live.key') };
    copyFileSync(first.cert, live.cert);
    copyFileSync(first.key, live.key);
    server = await startServer({ dbUrl: db, env: { RT_TLS_CERT: live.cert, RT_TLS_KEY: live.key}, waitReady: false });
    await readyOverHttps(server, [first.cert].map((f) => spawnSync('cat', [f]).stdout));
  });
  after(async () => {
    await server?.stop();
  });

  test('pusher-js with forceTLS connects over wss and receives an event the pusher SDK triggered over https', async () => {
    const r = await runClient({ port: server.port, app, channel: 'secure-news' }, first.cert);
    assert.equal(r.code, 0, r.err);
    const result = JSON.parse(r.out.split('\n').at(-1));
    assert.equal(result.state, 'connected');
    assert.equal(result.triggerStatus, 200);
    assert.deepEqual(result.received, { headline: 'over TLS' });
  });

  test('an app with --require-tls accepts the TLS connection (no 4000)', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${server.port}/app/${app.key}?protocol=7`, { ca: spawnSync('cat', [first.cert]).stdout });
    const first_ = await new Promise((resolve, reject) => {
      ws.once('message', (m) => resolve(JSON.parse(m.toString())));
      ws.once('error', reject);
    });
    assert.equal(first_.event, 'pusher:connection_established');
    ws.close();
  });

  test('plain ws:// to the TLS port is not served', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/app/${app.key}?protocol=7`);
    const outcome = await new Promise((resolve) => {
      ws.once('open', () => resolve('open'));
      ws.once('error', () => resolve('error'));
      ws.once('close', () => resolve('close'));
    });
    assert.notEqual(outcome, 'open');
    ws.terminate();
  });

  test('SIGHUP reloads the certificate: an open connection keeps working, new handshakes get the new certificate', async () => {
    const ca1 = spawnSync('cat', [first.cert]).stdout;
    const ws = new WebSocket(`wss://127.0.0.1:${server.port}/app/${app.key}?protocol=7`, { ca: ca1 });
    const messages = [];
    ws.on('message', (m) => messages.push(JSON.parse(m.toString())));
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    await waitFor(() => messages.length === 1, 3000, 'connection_established');
    assert.equal(await peerCn(server.port, ca1), 'first');

    const second = makeCert('second');
    copyFileSync(second.cert, live.cert);
    copyFileSync(second.key, live.key);
    server.proc.kill('SIGHUP');
    const ca2 = spawnSync('cat', [second.cert]).stdout;
    await waitFor(async () => (await peerCn(server.port, ca2).catch(() => null)) === 'second', 5000, 'the new certificate');
    assert.match(server.logs(), /SIGHUP: TLS certificate reloaded/);

    // The connection made before the reload is still up and still served.
    ws.send(JSON.stringify({ event: 'pusher:ping', data: {} }));
    await waitFor(() => messages.some((m) => m.event === 'pusher:pong'), 3000, 'pong on the old connection');
    ws.close();
  });

  test('a SIGHUP with a broken key keeps the current certificate and says why', async () => {
    const before = await peerCn(server.port, spawnSync('cat', [live.cert]).stdout);
    writeFileSync(live.key, 'not a key\n');
    server.proc.kill('SIGHUP');
    await waitFor(() => /TLS reload failed, keeping the current certificate: RT_TLS_KEY/.test(server.logs()), 5000, 'the reload error');
    assert.equal(await peerCn(server.port, spawnSync('cat', [live.cert]).stdout), before);
  });
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('bad TLS settings stop the server with one line naming the setting (exit 2)', () => {
  let db, port;
  before(async () => { db = createDatabase(); port = await freePort(); });

  function start(env) {
    const r = spawnSync(RTSERVER, [], {
      encoding: 'utf8',
      timeout: 10000,
      env: { PATH: process.env.PATH, RT_HOST: '127.0.0.1', RT_PORT: String(port), RT_MASTER_KEY: MASTER_KEY, RT_DATABASE_URL: db, ...env },
    });
    return { code: r.status, lines: r.stderr.trim().split('\n') };
  }

  test('a certificate path that does not exist', () => {
    const k = makeCert('k1');
    const r = start({ RT_TLS_CERT: path.join(dir, 'missing.crt'), RT_TLS_KEY: k.key });
    assert.equal(r.code, 2);
    assert.equal(r.lines.length, 1);
    assert.match(r.lines[0], /^rtserver: RT_TLS_CERT: cannot load a PEM certificate from .*missing\.crt/);
  });

  test('a key that does not belong to the certificate', () => {
    const a = makeCert('a1'), b = makeCert('b1');
    const r = start({ RT_TLS_CERT: a.cert, RT_TLS_KEY: b.key });
    assert.equal(r.code, 2);
    assert.equal(r.lines.length, 1);
    assert.match(r.lines[0], /^rtserver: RT_TLS_KEY: .*b1\.key is not the key of the certificate in .*a1\.crt$/);
  });

  test('a certificate without a key', () => {
    const a = makeCert('a2');
    const r = start({ RT_TLS_CERT: a.cert });
    assert.equal(r.code, 2);
    assert.deepEqual(r.lines, ['rtserver: RT_TLS_CERT is set but RT_TLS_KEY is not: TLS needs both the certificate and its key']);
  });
});
