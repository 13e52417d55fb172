// Per client address limits (docs/security.md, "Hostile clients"): new WebSockets per second
// (HTTP 429), concurrent WebSockets (4100), and a back-off after repeated authentication
// failures (429 for upgrades and REST); each recovers, and other addresses are unaffected.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createDatabase, createApp, startServer, sleep, waitFor } from '../harness/index.mjs';
import { RawClient, restClient, signedRequestFrom, wsUrl } from './iplimit_helpers.mjs';

async function metrics(server) {
  return (await fetch(`${server.url}/metrics`)).text();
}

function metric(text, name) {
  const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

/** Sends a WebSocket upgrade from localAddress and resolves to the HTTP status line's code. */
function upgradeStatus(server, path, localAddress = '127.0.0.1', headers = {}) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: server.port, localAddress });
    let data = '';
    s.on('data', (d) => {
      data += d;
      if (data.includes('\r\n\r\n')) {
        s.destroy();
        const body = data.slice(data.indexOf('\r\n\r\n') + 4);
        resolve({ status: Number(data.split(' ')[1]), body });
      }
    });
    s.on('error', () => resolve({ status: null }));
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`);
  });
}

describe('new WebSockets per second per address (RT_IP_CONNECTIONS_PER_SECOND=5, burst 10)', () => {
  let db, app, server;
  before(async () => {
    db = createDatabase();
    app = createApp(db, []);
    server = await startServer({ dbUrl: db, env: { RT_IP_CONNECTIONS_PER_SECOND: '5' } });
  });
  after(async () => { await server?.stop(); });

  test('past the burst: 429 JSON before the upgrade; another address is unaffected; refills at the rate', async () => {
    const results = [];
    for (let i = 0; i < 14; i++) results.push(await upgradeStatus(server, `/app/${app.key}?protocol=7`, '127.0.0.5'));
    const ok = results.filter((r) => r.status === 101).length;
    const refused = results.filter((r) => r.status === 429);
    assert.ok(ok >= 10 && ok <= 11, `${ok} upgrades accepted`);
    assert.equal(ok + refused.length, 14);
    assert.deepEqual(JSON.parse(refused[0].body), { error: 'Too many new connections from this address, retry later' });
    assert.equal((await upgradeStatus(server, `/app/${app.key}?protocol=7`, '127.0.0.6')).status, 101);
    await sleep(500);
    assert.equal((await upgradeStatus(server, `/app/${app.key}?protocol=7`, '127.0.0.5')).status, 101);
    assert.equal(metric(await metrics(server), 'rt_ip_refused_total{reason="rate"}'), refused.length);
  });
});

describe('concurrent WebSockets per address (RT_IP_MAX_CONNECTIONS=3)', () => {
  let db, app, server;
  const clients = [];
  before(async () => {
    db = createDatabase();
    app = createApp(db, []);
    server = await startServer({ dbUrl: db, env: { RT_IP_MAX_CONNECTIONS: '3' } });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });

  test('the fourth from one address is closed with 4100; another address connects; a freed slot is reusable', async () => {
    for (let i = 0; i < 3; i++) clients.push(await RawClient.connect(wsUrl(server, app.key), { localAddress: '127.0.0.7' }));
    const fourth = new RawClient(wsUrl(server, app.key), { localAddress: '127.0.0.7' });
    assert.deepEqual(await fourth.closed, { code: 4100, reason: 'Too many connections from this address' });
    assert.deepEqual(fourth.messages, [{ event: 'pusher:error', data: { code: 4100, message: 'Too many connections from this address' } }]);
    clients.push(await RawClient.connect(wsUrl(server, app.key), { localAddress: '127.0.0.8' }));
    clients.shift().close();
    await waitFor(async () => metric(await metrics(server), 'rt_connections') === 3, 3000, 'the slot to free up');
    clients.push(await RawClient.connect(wsUrl(server, app.key), { localAddress: '127.0.0.7' }));
    assert.equal(metric(await metrics(server), 'rt_ip_refused_total{reason="concurrent"}'), 1);
  });
});

describe('authentication failures per address (RT_IP_AUTH_FAILURES=5, RT_IP_BACKOFF_SECONDS=2)', () => {
  let db, app, server;
  before(async () => {
    db = createDatabase();
    app = createApp(db, []);
    server = await startServer({ dbUrl: db, env: { RT_IP_AUTH_FAILURES: '5', RT_IP_BACKOFF_SECONDS: '2', RT_TRUST_PROXY: '1' } });
  });
  after(async () => { await server?.stop(); });

  test('after 6 unknown app keys the address gets 429 for upgrades and REST until the back-off ends', async () => {
    for (let i = 0; i < 6; i++) {
      const c = new RawClient(wsUrl(server, `no-such-key-${i}`), { localAddress: '127.0.0.9' });
      assert.equal((await c.closed).code, 4001);
    }
    const refused = await upgradeStatus(server, `/app/${app.key}?protocol=7`, '127.0.0.9');
    assert.equal(refused.status, 429);
    assert.deepEqual(JSON.parse(refused.body), { error: 'Too many authentication failures from this address, retry later' });
    const rest = await signedRequestFrom(server, app, '127.0.0.9', '/channels');
    assert.equal(rest.status, 429);
    // Another address is not affected.
    assert.equal((await upgradeStatus(server, `/app/${app.key}?protocol=7`, '127.0.0.10')).status, 101);
    const text = await metrics(server);
    assert.equal(metric(text, 'rt_ip_backoffs_total'), 1);
    assert.match(server.logs(), /security: address 127\.0\.0\.9 refused for 2 s after 6 authentication failures in a minute/);
    await sleep(2100);
    assert.equal((await upgradeStatus(server, `/app/${app.key}?protocol=7`, '127.0.0.9')).status, 101);
  });

  test('bad REST signatures count; behind a trusted proxy the address is the last X-Forwarded-For entry', async () => {
    for (let i = 0; i < 6; i++) {
      const res = await signedRequestFrom(server, { ...app, secret: 'wrong' }, '127.0.0.11', '/channels', { 'X-Forwarded-For': '203.0.113.9, 198.51.100.7' });
      assert.equal(res.status, 401);
    }
    // The proxy's own address (the socket peer) is not the one held back...
    assert.equal((await signedRequestFrom(server, app, '127.0.0.11', '/channels')).status, 200);
    // ...the client address the proxy reported is, whatever the client claimed before it.
    assert.equal((await signedRequestFrom(server, app, '127.0.0.12', '/channels', { 'X-Forwarded-For': '198.51.100.7' })).status, 429);
    assert.equal((await signedRequestFrom(server, app, '127.0.0.12', '/channels', { 'X-Forwarded-For': '198.51.100.7, 192.0.2.1' })).status, 200);
  });
});
