// Security log (docs/security.md "Security log"): REST authentication failures and channel
// authorization failures are counted per app in /metrics and logged as key=value lines, at
// most one per (app, event) per 10 s, with counts and a reason class, never a signature.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { createDatabase, createApp, startServer, waitFor, sleep } from '../harness/index.mjs';
import { signedRequest, nowSeconds } from './rest_helpers.mjs';

const INTERVAL_MS = 10000;

/** The server's security lines for one event and app, parsed: [{count, reasons, more}]. */
function securityLines(server, event, app) {
  return server.logs().split('\n')
    .filter((l) => l.includes(`security event=${event} app=${app.id} `))
    .map((l) => {
      const m = / warn  security event=(\S+) app=(\d+) reasons=(\S+) count=(\d+)(?: \((\d+) more since the last line\))?$/.exec(l);
      assert.ok(m, `unexpected security line: ${l}`);
      return { count: Number(m[4]), reasons: m[3], more: m[5] === undefined ? null : Number(m[5]) };
    });
}

/** The value of one /metrics sample, or undefined when it is absent. */
async function metric(server, sample) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

/** A REST call with a well-formed but wrong signature of our choosing. */
function badSignature(server, app, signature) {
  return signedRequest(server, app, { path: '/channels', override: { auth_signature: signature } });
}

/** A WebSocket of app's key, resolved with {ws, socketId, next()} once connected. */
function openSocket(server, app) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${server.host}:${server.port}/app/${app.key}?protocol=7`);
    const inbox = [];
    let waiter = null;
    ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString());
      if (msg.event === 'pusher:connection_established')
        return resolve({ ws, socketId: JSON.parse(msg.data).socket_id, next });
      inbox.push(msg);
      if (waiter) waiter();
    });
    ws.on('error', reject);
    async function next() {
      while (!inbox.length) await new Promise((r) => (waiter = r));
      return inbox.shift();
    }
  });
}

describe('REST authentication failures', { timeout: 60000 }, () => {
  let db, server, app, other;
  before(async () => {
    db = createDatabase();
    app = createApp(db, [], 'target');
    other = createApp(db, [], 'bystander');
    // The per-address back-off (RT_IP_AUTH_FAILURES) is a separate defence: off here so that
    // every bad request reaches the signature check.
    server = await startServer({ dbUrl: db, env: { RT_IP_AUTH_FAILURES: '0' } });
  });
  after(async () => { await server.stop(); });

  test('a burst of 100 bad signatures is 100 in the metric and at most 2 log lines with the counts, without the signatures', async () => {
    const signatures = Array.from({ length: 100 }, () => randomBytes(32).toString('hex'));
    const statuses = await Promise.all(signatures.map((s) => badSignature(server, app, s).then((r) => r.status)));
    assert.deepEqual([...new Set(statuses)], [401]);
    assert.equal(await metric(server, `rt_rest_auth_failures_total{app="${app.id}",reason="bad_signature"}`), 100);
    assert.deepEqual(securityLines(server, 'rest_auth_failure', app), [{ count: 1, reasons: 'bad_signature:1', more: null }]);

    await sleep(INTERVAL_MS + 500);
    assert.deepEqual(securityLines(server, 'rest_auth_failure', app), [
      { count: 1, reasons: 'bad_signature:1', more: null },
      { count: 99, reasons: 'bad_signature:99', more: 99 },
    ]);
    const logs = server.logs();
    for (const s of signatures) assert.ok(!logs.includes(s.slice(0, 16)), 'a signature reached the log');
    assert.ok(!logs.includes(app.secret), 'the secret reached the log');
    assert.equal(securityLines(server, 'rest_auth_failure', other).length, 0);
    assert.equal(await metric(server, `rt_rest_auth_failures_total{app="${other.id}",reason="bad_signature"}`), undefined);
  });

  test('each failure is counted under its reason class', async () => {
    const expired = await signedRequest(server, other, { path: '/channels', timestamp: nowSeconds() - 3600 });
    const unknownKey = await signedRequest(server, other, { path: '/channels', key: 'notakeyofthisapp' });
    const malformed = await signedRequest(server, other, { path: '/channels', omit: ['auth_signature'] });
    const body = await signedRequest(server, other, { path: '/events', body: '{"name":"e","channel":"c","data":"{}"}', override: { body_md5: '0'.repeat(32) } });
    assert.deepEqual([expired.status, unknownKey.status, malformed.status, body.status], [401, 401, 401, 401]);
    for (const [reason, n] of [['expired', 1], ['unknown_key', 1], ['malformed', 1], ['bad_signature', 1]])
      assert.equal(await metric(server, `rt_rest_auth_failures_total{app="${other.id}",reason="${reason}"}`), n, reason);
    const lines = securityLines(server, 'rest_auth_failure', other);
    assert.deepEqual(lines, [{ count: 1, reasons: 'expired:1', more: null }]);
  });

  test('a correct request is not counted', async () => {
    const before = await metric(server, `rt_rest_auth_failures_total{app="${other.id}",reason="expired"}`);
    assert.equal((await signedRequest(server, other, { path: '/channels' })).status, 200);
    assert.equal(await metric(server, `rt_rest_auth_failures_total{app="${other.id}",reason="expired"}`), before);
  });
});

describe('channel authorization failures', { timeout: 60000 }, () => {
  let db, server, app;
  before(async () => {
    db = createDatabase();
    app = createApp(db, [], 'channels');
    server = await startServer({ dbUrl: db, env: { RT_IP_AUTH_FAILURES: '0' } });
  });
  after(async () => { await server.stop(); });

  test('bad private and presence subscriptions are counted per app and logged once per interval without the auth', async () => {
    const { ws, next } = await openSocket(server, app);
    const auths = [];
    for (let i = 0; i < 20; i++) {
      const auth = `${app.key}:${randomBytes(32).toString('hex')}`;
      auths.push(auth);
      const channel = i % 2 ? `private-room-${i}` : `presence-room-${i}`;
      ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel, auth, channel_data: i % 2 ? undefined : '{"user_id":"u"}' } }));
      const reply = await next();
      assert.equal(reply.event, 'pusher:subscription_error');
      assert.equal(JSON.parse(typeof reply.data === 'string' ? reply.data : JSON.stringify(reply.data)).status, 401);
    }
    ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'private-x', auth: 'no-colon' } }));
    assert.equal((await next()).event, 'pusher:subscription_error');
    ws.close();
    assert.equal(await metric(server, `rt_channel_auth_failures_total{app="${app.id}"}`), 21);
    assert.deepEqual(securityLines(server, 'channel_auth_failure', app), [{ count: 1, reasons: 'bad_signature:1', more: null }]);
    await sleep(INTERVAL_MS + 500);
    assert.deepEqual(securityLines(server, 'channel_auth_failure', app), [
      { count: 1, reasons: 'bad_signature:1', more: null },
      { count: 20, reasons: 'bad_signature:19,malformed:1', more: 20 },
    ]);
    const logs = server.logs();
    for (const a of auths) assert.ok(!logs.includes(a.split(':')[1].slice(0, 16)), 'an auth signature reached the log');
  });
});

describe('sign-in failures and per-address refusals', { timeout: 60000 }, () => {
  let db, server, app;
  before(async () => {
    db = createDatabase();
    app = createApp(db, ['--user-auth'], 'signins');
    server = await startServer({ dbUrl: db, env: { RT_IP_AUTH_FAILURES: '0', RT_IP_MAX_CONNECTIONS: '2' } });
  });
  after(async () => { await server.stop(); });

  test('a pusher:signin with a bad signature is 4009, counted per app and logged without the auth', async () => {
    const auths = [];
    for (let i = 0; i < 3; i++) {
      const { ws, next } = await openSocket(server, app);
      const auth = `${app.key}:${randomBytes(32).toString('hex')}`;
      auths.push(auth);
      const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
      ws.send(JSON.stringify({ event: 'pusher:signin', data: { auth, user_data: '{"id":"mallory"}' } }));
      assert.equal((await next()).event, 'pusher:error');
      assert.equal(await closed, 4009);
    }
    assert.equal(await metric(server, `rt_signin_auth_failures_total{app="${app.id}"}`), 3);
    assert.deepEqual(securityLines(server, 'signin_auth_failure', app), [{ count: 1, reasons: 'bad_signature:1', more: null }]);
    const logs = server.logs();
    for (const a of auths) assert.ok(!logs.includes(a.split(':')[1].slice(0, 16)), 'a sign-in signature reached the log');
  });

  test('a connection over RT_IP_MAX_CONNECTIONS is refused with 4100, counted and logged as ip_limit', async () => {
    const held = [await openSocket(server, app), await openSocket(server, app)];
    const refused = await new Promise((resolve) => {
      const ws = new WebSocket(`ws://${server.host}:${server.port}/app/${app.key}?protocol=7`);
      ws.on('close', (code) => resolve(code));
      ws.on('error', () => {});
    });
    assert.equal(refused, 4100);
    for (const { ws } of held) ws.close();
    assert.equal(await metric(server, 'rt_ip_limit_refusals_total{app="-",reason="max_connections"}'), 1);
    await waitFor(() => server.logs().includes('security event=ip_limit app=- reasons=max_connections:1 count=1'), 2000,
      'the ip_limit line');
  });
});

describe('security series are bounded by RT_METRICS_APPS_MAX like the rt_app_* series', { timeout: 60000 }, () => {
  let db, server, busy, quiet;
  const sockets = [];
  before(async () => {
    db = createDatabase();
    busy = createApp(db, [], 'sec-busy');
    quiet = createApp(db, [], 'sec-quiet');
    server = await startServer({ dbUrl: db, env: { RT_IP_AUTH_FAILURES: '0', RT_METRICS_APPS_MAX: '1' } });
  });
  after(async () => {
    for (const s of sockets) s.ws.close();
    await server.stop();
  });

  async function open(app) {
    const s = await openSocket(server, app);
    sockets.push(s);
    return s;
  }

  /** Every sample of /metrics whose name is one of the security counters: {series: value}. */
  async function securitySeries() {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return Object.fromEntries(text.split('\n')
      .filter((l) => /^rt_(rest_auth_failures|channel_auth_failures|signin_auth_failures|ip_limit_refusals|security_events)_total\{/.test(l))
      .map((l) => { const i = l.lastIndexOf(' '); return [l.slice(0, i), Number(l.slice(i + 1))]; }));
  }

  /** A private subscription with a bad signature on socket s: answered with a 401 subscription_error. */
  async function badSubscription(s, app) {
    s.ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'private-x', auth: `${app.key}:${'0'.repeat(64)}` } }));
    assert.equal((await s.next()).event, 'pusher:subscription_error');
  }

  test('with RT_METRICS_APPS_MAX=1 the app with most connections has its own series and the other app\'s failures are summed as app="_other"', async () => {
    await open(busy);
    const busySocket = await open(busy);
    const quietSocket = await open(quiet);
    for (let i = 0; i < 3; i++) assert.equal((await badSignature(server, busy, randomBytes(32).toString('hex'))).status, 401);
    for (let i = 0; i < 2; i++) assert.equal((await badSignature(server, quiet, randomBytes(32).toString('hex'))).status, 401);
    assert.equal((await signedRequest(server, quiet, { path: '/channels', key: 'notakeyofthisapp' })).status, 401);
    await badSubscription(busySocket, busy);
    await badSubscription(quietSocket, quiet);
    await badSubscription(quietSocket, quiet);
    assert.deepEqual(await securitySeries(), {
      [`rt_rest_auth_failures_total{app="${busy.id}",reason="bad_signature"}`]: 3,
      'rt_rest_auth_failures_total{app="_other",reason="bad_signature"}': 2,
      'rt_rest_auth_failures_total{app="_other",reason="unknown_key"}': 1,
      [`rt_channel_auth_failures_total{app="${busy.id}"}`]: 1,
      'rt_channel_auth_failures_total{app="_other"}': 2,
    });
    assert.equal(await metric(server, `rt_app_connections{app="${busy.id}"}`), 2, 'the same app as rt_app_*');
    assert.equal(await metric(server, 'rt_app_connections{app="_other"}'), 1);
  });

  test('when the other app gets more connections, the series follow: its counts become its own and the first app\'s go to "_other"', async () => {
    await open(quiet);
    await open(quiet);
    await waitFor(async () => (await metric(server, `rt_app_connections{app="${quiet.id}"}`)) === 3, 5000, 'quiet has its own rt_app_* series');
    assert.deepEqual(await securitySeries(), {
      [`rt_rest_auth_failures_total{app="${quiet.id}",reason="bad_signature"}`]: 2,
      [`rt_rest_auth_failures_total{app="${quiet.id}",reason="unknown_key"}`]: 1,
      'rt_rest_auth_failures_total{app="_other",reason="bad_signature"}': 3,
      [`rt_channel_auth_failures_total{app="${quiet.id}"}`]: 2,
      'rt_channel_auth_failures_total{app="_other"}': 1,
    });
  });
});
