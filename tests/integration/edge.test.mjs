// The network edge under stress (docs/security.md, "Hostile clients"): buffers sized by what
// they hold, closing sockets that cannot outlive their deadline, request bodies capped before
// they are read, and a port already in use refused in one line.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import {
  MASTER_KEY, RTSERVER, createDatabase, createApp, rtadmin, startServer, freePort, sleep, waitFor,
} from '../harness/index.mjs';
import { RawClient, alive, restClient, wsUrl } from './helpers.mjs';

/** A masked client frame (RFC 6455 §5.2). */
function frame(opcode, payload, { fin = true } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  let head;
  if (data.length < 126) head = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | data.length]);
  else if (data.length < 65536) {
    head = Buffer.alloc(4);
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = 0x80 | 126;
    head.writeUInt16BE(data.length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(data.length), 2);
  }
  const body = Buffer.from(data.map((b, i) => b ^ mask[i & 3]));
  return Buffer.concat([head, mask, body]);
}

async function metrics(server) {
  return (await fetch(`${server.url}/metrics`)).text();
}

function metric(text, name) {
  const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

describe('message assembly', () => {
  let db, app, server;
  before(async () => {
    db = createDatabase();
    app = createApp(db, ['--max-payload-kb', '1']);
    server = await startServer({ dbUrl: db });
  });
  after(async () => { await server?.stop(); });

  test('raising the payload limit while a fragmented message is half sent stays within the buffer', async () => {
    const c = await RawClient.connect(wsUrl(server, app.key));
    const from = c.messages.length;
    const socket = c.ws._socket;
    // 3 KB of a message under the 1 KB app limit (6144 bytes with envelope room), unfinished.
    socket.write(frame(1, `{"event":"pusher:ping","data":{"pad":"${'a'.repeat(3000)}`, { fin: false }));
    await sleep(200);
    const r = rtadmin(['app', 'update', app.id, '--max-payload-kb', '100'], { RT_DATABASE_URL: db });
    assert.equal(r.code, 0, r.stderr);
    await sleep(500); // the server reloads the app from NOTIFY
    for (let i = 0; i < 4; i++) socket.write(frame(0, 'b'.repeat(10000), { fin: false }));
    socket.write(frame(0, '"}}'));
    const m = await c.next((x) => x.event === 'pusher:pong' || x.event === 'pusher:error', 3000, from);
    assert.deepEqual(m, { event: 'pusher:pong', data: '{}' });
    c.close();
    assert.ok(alive(server));
  });
});

describe('closing sockets have a deadline (RT_CLOSE_TIMEOUT)', () => {
  let db, app, server;
  before(async () => {
    db = createDatabase();
    app = createApp(db, ['--backend-events-per-second', '100000']);
    // Output limits far away: only the close deadline can end the socket here.
    server = await startServer({
      dbUrl: db,
      env: {
        RT_ACTIVITY_TIMEOUT: '1', RT_PONG_TIMEOUT: '1', RT_CLOSE_TIMEOUT: '2',
        RT_SEND_BUFFER_HARD_KB: '262144', RT_SEND_BUFFER_SOFT_KB: '262144', RT_SEND_BUFFER_SOFT_SECONDS: '3600',
      },
    });
  });
  after(async () => { await server?.stop(); });

  test('a peer that stops reading with output queued is dropped after 4201 plus the close timeout', async () => {
    const c = await RawClient.connect(wsUrl(server, app.key));
    await c.subscribe('stuck');
    c.ws._socket.pause();
    // Fill the socket buffers and leave frames queued in the server (below every limit).
    const rest = restClient(server, app);
    const data = 'q'.repeat(9000);
    for (let i = 0; i < 100; i++) {
      const res = await rest.triggerBatch(Array.from({ length: 10 }, () => ({ channel: 'stuck', name: 'e', data })));
      assert.equal(res.status, 200);
    }
    // Silent for activity (1 s) + pong (1 s): closed with 4201, whose close frame cannot be
    // written; the close deadline (2 s) drops the socket anyway.
    const started = Date.now();
    await waitFor(async () => metric(await metrics(server), 'rt_connections') === 0, 12000,
      'the stuck socket to be dropped');
    assert.ok(Date.now() - started < 10000);
    assert.equal(metric(await metrics(server), 'rt_ws_closes_total{code="4201"}'), 1);
    c.ws.terminate();
  });
});

describe('request bodies in flight are capped per client address and per node', () => {
  let db, app, server;
  before(async () => {
    db = createDatabase();
    app = createApp(db, []);
    server = await startServer({
      dbUrl: db,
      env: { RT_HTTP_BODY_INFLIGHT_KB: '2048', RT_HTTP_BODY_INFLIGHT_PER_IP_KB: '1024', RT_HTTP_BODY_TIMEOUT: '2' },
    });
  });
  after(async () => { await server?.stop(); });

  /** A POST announcing 512 KiB that sends 100 bytes and stalls; resolves to what it read. */
  function halfOpenPost(localAddress) {
    return new Promise((resolve) => {
      const s = net.connect({ port: server.port, host: '127.0.0.1', localAddress });
      let data = '';
      const started = Date.now();
      s.on('data', (d) => (data += d));
      s.on('error', () => {});
      s.on('close', () => resolve({ data, ms: Date.now() - started }));
      s.on('connect', () => {
        s.write(`POST /apps/${app.id}/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${512 * 1024}\r\n\r\n${'x'.repeat(100)}`);
      });
      setTimeout(() => s.destroy(), 8000);
    });
  }

  test('past the per-address cap: 429 before reading; past the node cap: 503; the held ones time out with 408', async () => {
    const held = [halfOpenPost('127.0.0.1'), halfOpenPost('127.0.0.1')];
    await sleep(200);
    const third = await halfOpenPost('127.0.0.1');
    assert.match(third.data, /^HTTP\/1\.1 429 /);
    assert.match(third.data, /\{"error":"Too many request bodies in flight from this address"\}$/);
    assert.ok(third.ms < 1000, `refused in ${third.ms} ms`);
    held.push(halfOpenPost('127.0.0.2'), halfOpenPost('127.0.0.2'));
    await sleep(200);
    const fifth = await halfOpenPost('127.0.0.3');
    assert.match(fifth.data, /^HTTP\/1\.1 503 /);
    assert.match(fifth.data, /\{"error":"Server busy: too many request bodies in flight, retry later"\}$/);
    for (const r of await Promise.all(held)) {
      assert.match(r.data, /^HTTP\/1\.1 408 /);
      assert.match(r.data, /\{"error":"Request body timeout"\}$/);
    }
    const text = await metrics(server);
    assert.equal(metric(text, 'rt_http_refused_total{reason="inflight_ip"}'), 1);
    assert.equal(metric(text, 'rt_http_refused_total{reason="inflight_node"}'), 1);
    assert.equal(metric(text, 'rt_http_refused_total{reason="body_timeout"}'), 4);
    // Released: a normal request goes through again.
    const res = await restClient(server, app).trigger('after', 'e', 'ok');
    assert.equal(res.status, 200);
  });
});

describe('startup', () => {
  test('a port already in use ends the server with one line naming the address, exit code 1', async () => {
    const blocker = net.createServer();
    const port = await freePort();
    await new Promise((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    const db = createDatabase();
    const proc = spawn(RTSERVER, [], {
      env: { PATH: process.env.PATH, RT_HOST: '127.0.0.1', RT_PORT: String(port), RT_MASTER_KEY: MASTER_KEY, RT_DATABASE_URL: db },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const res = await Promise.race([
      new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal }))),
      sleep(10000).then(() => null),
    ]);
    blocker.close();
    if (!res) proc.kill('SIGKILL');
    assert.deepEqual(res, { code: 1, signal: null });
    assert.equal(out, `rtserver: cannot listen on 127.0.0.1:${port}: Address already in use\n`);
  });
});
