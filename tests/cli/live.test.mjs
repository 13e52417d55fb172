// rtadmin against running rtserver processes: stats (GET /metrics of one or several nodes),
// channels (signed REST call), and key rotation/revocation reaching two servers within 1 s.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import Pusher from 'pusher-js';
import WebSocket from 'ws';
import { RTADMIN, MASTER_KEY, createDatabase, createApp, startServer, pusherJsOptions, freePort, sleep, waitFor } from '../harness/index.mjs';
import { pusherClient, connected, subscribed, restClient } from '../integration/helpers.mjs';
import { bind, ok, expectCode, oneErrorLine, auditRows } from './cli-helpers.mjs';

const cleanups = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

/** A server that is stopped (and checked for sanitizer reports) when the file ends. */
async function server(dbUrl) {
  const s = await startServer({ dbUrl });
  cleanups.push(() => s.stop());
  return s;
}

/** A pusher-js client that is disconnected when the file ends. */
function keep(client) {
  cleanups.push(() => client.disconnect());
  return client;
}

/** rtadmin without blocking the event loop, so in-process clients keep answering. */
function runAsync(args, env) {
  return new Promise((resolve) => {
    const p = spawn(RTADMIN, args, { env: { PATH: process.env.PATH, USER: 'tester', RT_MASTER_KEY: MASTER_KEY, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr, json: () => JSON.parse(stdout) }));
  });
}

const ZERO = { connections: 0, channels: 0, members: 0, users: 0, messages_in: 0, messages_out: 0, rest_calls: 0 };

/** The first error a pusher-js connection reports, as {code, message}; during the handshake
 *  pusher-js wraps the server's pusher:error in a WebSocketError. */
function firstError(client) {
  return new Promise((resolve) => {
    client.connection.bind('error', (e) => {
      const data = e.error ? e.error.data : e.data;
      resolve({ code: data && data.code, message: data && data.message });
    });
  });
}

/** A raw WebSocket connection that is open and established; `closed` resolves {code, reason}. */
async function rawConnection(s, key) {
  const ws = new WebSocket(`ws://127.0.0.1:${s.port}/app/${key}?protocol=7`);
  cleanups.push(() => ws.terminate());
  const closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise((resolve, reject) => {
    ws.once('message', (m) => (JSON.parse(m).event === 'pusher:connection_established' ? resolve() : reject(new Error(`got ${m}`))));
    ws.once('error', reject);
  });
  return { ws, closed };
}

/** Resolves with the close {code, reason}, or null when the socket is still open after ms. */
function closedWithin(conn, ms) {
  return Promise.race([conn.closed, sleep(ms).then(() => null)]);
}

// ---- stats --------------------------------------------------------------------------------

test('stats_against_one_server_reports_exact_live_numbers_per_app', async () => {
  const db = createDatabase();
  const run = bind(db);
  const chat = createApp(db, ['--id', '1111111'], 'Chat');
  createApp(db, ['--id', '2222222'], 'Idle');
  const s = await server(db);
  const a = keep(pusherClient(s, chat));
  await connected(a);
  await subscribed(a, 'public-a');
  const b = keep(pusherClient(s, chat, { presence: { user_id: 'u1' } }));
  await connected(b);
  await subscribed(b, 'presence-room');
  const c = keep(pusherClient(s, chat, { presence: { user_id: 'u2' } }));
  await connected(c);
  await subscribed(c, 'presence-room');
  ok(await runAsync(['trigger', chat.id, 'public-a', 'hello', 'world', '--server', s.url], { RT_DATABASE_URL: db }));
  await waitFor(() => a.events.some((e) => e.event === 'hello'), 3000, 'event delivered');

  const r = ok(run(['stats', '--server', s.url, '--json']));
  // In: three subscribes. Out: member_added (u2, to u1) and the triggered event.
  const chatNumbers = { connections: 3, channels: 2, members: 2, users: 0, messages_in: 3, messages_out: 2, rest_calls: 1 };
  assert.deepEqual(r.json(), {
    apps: [{ app_id: '1111111', name: 'Chat', ...chatNumbers }, { app_id: '2222222', name: 'Idle', ...ZERO }],
    servers: [{ server: s.url, ...chatNumbers }],
  });
  assert.equal(r.stderr, '');

  const human = ok(run(['stats', '--server', s.url])).stdout.split('\n');
  assert.equal(human[0], 'APP      NAME  CONNECTIONS  CHANNELS  MEMBERS  USERS  MESSAGES_IN  MESSAGES_OUT  REST_CALLS');
  assert.equal(human[1], '1111111  Chat  3            2         2        0      3            2             1');
  assert.equal(human[2], '2222222  Idle  0            0         0        0      0            0             0');
  assert.equal(human[3], '');
  assert.match(human[4], /^SERVER +CONNECTIONS +CHANNELS +MEMBERS +USERS +MESSAGES_IN +MESSAGES_OUT +REST_CALLS$/);
  assert.equal(human[5].split(/ +/).join(' '), `${s.url} 3 2 2 0 3 2 1`);

  assert.deepEqual(ok(run(['stats', '2222222', '--server', s.url, '--json'])).json(), {
    apps: [{ app_id: '2222222', name: 'Idle', ...ZERO }],
    servers: [{ server: s.url, ...ZERO }],
  });
});

test('stats_sums_two_servers_per_app_and_shows_each_servers_share', async () => {
  const db = createDatabase();
  const run = bind(db);
  const chat = createApp(db, ['--id', '3333333'], 'Chat');
  const s1 = await server(db);
  const s2 = await server(db);
  for (const [s, channel] of [[s1, 'public-a'], [s1, 'public-b'], [s2, 'public-a']]) {
    const p = keep(new Pusher(chat.key, pusherJsOptions(s)));
    await subscribed(p, channel);
  }
  const one = { connections: 2, channels: 2, members: 0, users: 0, messages_in: 2, messages_out: 0, rest_calls: 0 };
  const two = { connections: 1, channels: 1, members: 0, users: 0, messages_in: 1, messages_out: 0, rest_calls: 0 };
  const expected = {
    apps: [{ app_id: '3333333', name: 'Chat', connections: 3, channels: 3, members: 0, users: 0, messages_in: 3, messages_out: 0, rest_calls: 0 }],
    servers: [{ server: s1.url, ...one }, { server: s2.url, ...two }],
  };
  assert.deepEqual(ok(run(['stats', '--server', s1.url, '--server', `${s2.url}/`, '--json'])).json(), expected);
  assert.deepEqual(ok(run(['stats', '3333333', '--json'], { RT_SERVER_URL: `${s1.url},${s2.url}` })).json(), expected);
  // The same node named twice is asked once.
  assert.deepEqual(ok(run(['stats', '--server', s2.url, '--server', s2.url, '--json'])).json().servers, [{ server: s2.url, ...two }]);
});

test('stats_for_an_unknown_app_exits_1', async () => {
  const db = createDatabase();
  const r = expectCode(bind(db)(['stats', '9999999', '--server', 'http://127.0.0.1:1']), 1);
  assert.equal(oneErrorLine(r), "rtadmin: no app with id '9999999' (see: rtadmin app list)");
  assert.equal(r.stdout, '');
});

test('stats_with_an_unreachable_server_exits_1_naming_it', async () => {
  const db = createDatabase();
  createApp(db, [], 'Chat');
  const s = await server(db);
  const port = await freePort();
  const r = expectCode(bind(db)(['stats', '--server', s.url, '--server', `http://127.0.0.1:${port}`]), 1);
  assert.match(oneErrorLine(r), new RegExp(`^rtadmin: cannot reach server http://127\\.0\\.0\\.1:${port}: .*Could(n't| not) connect to server`));
  assert.equal(r.stdout, '');
  const bad = expectCode(bind(db)(['stats', '--server', 'ftp://x']), 2);
  assert.equal(oneErrorLine(bad), "rtadmin: --server must be an http:// or https:// URL, not 'ftp://x' (see: rtadmin stats --help)");
});

test('stats_exits_1_when_metrics_is_not_an_rtservers_answer', async () => {
  const db = createDatabase();
  const s = await server(db);
  const r = expectCode(bind(db)(['stats', '--server', `${s.url}/nope`]), 1);
  assert.match(oneErrorLine(r), new RegExp(`^rtadmin: server ${s.url}/nope answered HTTP 404 to GET /metrics: .+`));
  const other = http.createServer((req, res) => res.end('hello 1\n'));
  const port = await freePort();
  await new Promise((resolve) => other.listen(port, '127.0.0.1', resolve));
  try {
    const r2 = await runAsync(['stats', '--server', `http://127.0.0.1:${port}`], { RT_DATABASE_URL: db });
    assert.equal(r2.code, 1);
    assert.equal(r2.stderr, `rtadmin: http://127.0.0.1:${port}/metrics has no rt_connections gauge; is http://127.0.0.1:${port} an rtserver?\n`);
  } finally {
    await new Promise((resolve) => other.close(resolve));
  }
});

// ---- channels -----------------------------------------------------------------------------

test('channels_lists_occupied_channels_and_presence_user_counts', async () => {
  const db = createDatabase();
  const run = bind(db);
  const chat = createApp(db, [], 'Chat');
  const s = await server(db);
  const env = { RT_SERVER_URL: s.url };
  const a = keep(pusherClient(s, chat, { presence: { user_id: 'u1' } }));
  await subscribed(a, 'public-b');
  await subscribed(a, 'public-a');
  await subscribed(a, 'presence-room');
  const b = keep(pusherClient(s, chat, { presence: { user_id: 'u2' } }));
  await subscribed(b, 'presence-room');
  await subscribed(b, 'presence-lobby');

  assert.deepEqual(ok(run(['channels', chat.id, '--json'], env)).json(),
    [{ channel: 'presence-lobby' }, { channel: 'presence-room' }, { channel: 'public-a' }, { channel: 'public-b' }]);
  assert.equal(ok(run(['channels', chat.id, '--prefix', 'public-'], env)).stdout, 'CHANNEL\npublic-a\npublic-b\n');
  assert.deepEqual(ok(run(['channels', chat.id, '--prefix', 'presence-', '--json'], env)).json(),
    [{ channel: 'presence-lobby', users: 1 }, { channel: 'presence-room', users: 2 }]);
  assert.equal(ok(run(['channels', chat.id, '--prefix', 'presence-', '--server', s.url])).stdout,
    'CHANNEL         USERS\npresence-lobby  1\npresence-room   2\n');
  assert.equal(ok(run(['channels', chat.id, '--prefix', 'private-'], env)).stdout, 'No occupied channels.\n');
  assert.deepEqual(ok(run(['channels', chat.id, '--prefix', 'private-', '--json'], env)).json(), []);
});

test('channels_reports_the_servers_error_and_bad_input', async () => {
  const db = createDatabase();
  const run = bind(db);
  const chat = createApp(db, [], 'Chat');
  const s = await server(db);
  ok(run(['app', 'disable', chat.id]));
  await sleep(300);
  const disabled = expectCode(run(['channels', chat.id, '--server', s.url]), 1);
  assert.equal(oneErrorLine(disabled), 'rtadmin: the server answered HTTP 403: {"error":"Application disabled"}');
  assert.equal(disabled.stdout, '');
  const unknown = expectCode(run(['channels', '9999999', '--server', s.url]), 1);
  assert.equal(oneErrorLine(unknown), "rtadmin: no app with id '9999999' (see: rtadmin app list)");
  const prefix = expectCode(run(['channels', chat.id, '--prefix', 'a&b', '--server', s.url]), 2);
  assert.equal(oneErrorLine(prefix),
    "rtadmin: --prefix must be the start of a channel name (1-200 of A-Z a-z 0-9 _ - = @ , . ;), not 'a&b' (see: rtadmin channels --help)");
  const port = await freePort();
  const down = expectCode(run(['channels', chat.id, '--server', `http://127.0.0.1:${port}`]), 1);
  assert.match(oneErrorLine(down), new RegExp(`^rtadmin: cannot reach the server at http://127\\.0\\.0\\.1:${port}: `));
});

// ---- keys on two running servers ----------------------------------------------------------

test('key_rotate_revoke_old_takes_effect_on_two_servers_within_1s', async () => {
  const db = createDatabase();
  const run = bind(db);
  const chat = createApp(db, [], 'Chat');
  const s1 = await server(db);
  const s2 = await server(db);
  const live = [s1, s2].map((s) => keep(new Pusher(chat.key, pusherJsOptions(s))));
  await Promise.all(live.map((p) => connected(p)));
  const liveErrors = live.map((p) => { const e = []; p.connection.bind('error', (x) => e.push(x)); return e; });

  const rotated = ok(run(['key', 'rotate', chat.id, '--revoke-old', '--json'])).json();
  assert.deepEqual(rotated.revoked, [chat.key]);
  await sleep(1000);

  for (const s of [s1, s2]) {
    const old = keep(new Pusher(chat.key, pusherJsOptions(s)));
    assert.deepEqual(await firstError(old), { code: 4001, message: 'Application does not exist' });
    const fresh = keep(new Pusher(rotated.key, pusherJsOptions(s)));
    await connected(fresh);
    await assert.rejects(restClient(s, chat).get({ path: '/channels' }), (e) => e.status === 401);
    const res = await restClient(s, { ...chat, key: rotated.key, secret: rotated.secret }).get({ path: '/channels' });
    assert.equal(res.status, 200);
  }
  // A plain revocation leaves connections opened with the old key up.
  assert.deepEqual(live.map((p) => p.connection.state), ['connected', 'connected']);
  assert.deepEqual(liveErrors, [[], []]);
});

test('key_revoke_disconnect_closes_live_connections_on_two_servers_with_4001', async () => {
  const db = createDatabase();
  const run = bind(db);
  const chat = createApp(db, [], 'Chat');
  const other = ok(run(['key', 'create', chat.id, '--json'])).json();
  const s1 = await server(db);
  const s2 = await server(db);
  const doomed = [await rawConnection(s1, chat.key), await rawConnection(s2, chat.key)];
  const kept = [await rawConnection(s1, other.key), await rawConnection(s2, other.key)];

  const r = ok(run(['key', 'revoke', chat.key, '--disconnect', '--json']));
  assert.deepEqual(r.json(), { key: chat.key, app_id: chat.id, status: 'revoked', active_keys: 1, disconnect: true });
  const closes = await Promise.all(doomed.map((c) => closedWithin(c, 1000)));
  assert.deepEqual(closes, [{ code: 4001, reason: 'Application key revoked' }, { code: 4001, reason: 'Application key revoked' }]);
  assert.deepEqual(await Promise.all(kept.map((c) => closedWithin(c, 200))), [null, null]);
  assert.deepEqual(auditRows(db, "action = 'key.revoke'").map((e) => e.details),
    [{ key: chat.key, before: { status: 'active' }, after: { status: 'revoked' }, disconnect: true }]);
});

test('key_revoke_without_disconnect_keeps_live_connections', async () => {
  const db = createDatabase();
  const run = bind(db);
  const chat = createApp(db, [], 'Chat');
  const other = ok(run(['key', 'create', chat.id, '--json'])).json();
  const s1 = await server(db);
  const s2 = await server(db);
  const conns = [await rawConnection(s1, chat.key), await rawConnection(s2, chat.key)];
  ok(run(['key', 'revoke', chat.key]));
  assert.deepEqual(await Promise.all(conns.map((c) => closedWithin(c, 1000))), [null, null]);
  // Another change to the app (and so a reload on every server) still leaves them up.
  ok(run(['key', 'revoke', other.key]));
  assert.deepEqual(await Promise.all(conns.map((c) => closedWithin(c, 1000))), [null, null]);
});

test('key_rotate_revoke_old_disconnect_closes_the_old_keys_connections', async () => {
  const db = createDatabase();
  const run = bind(db);
  const chat = createApp(db, [], 'Chat');
  const s1 = await server(db);
  const s2 = await server(db);
  const doomed = [await rawConnection(s1, chat.key), await rawConnection(s2, chat.key)];
  const usage = expectCode(run(['key', 'rotate', chat.id, '--disconnect']), 2);
  assert.equal(oneErrorLine(usage), 'rtadmin: --disconnect needs --revoke-old (only revoked keys are disconnected) (see: rtadmin key rotate --help)');

  const rotated = ok(run(['key', 'rotate', chat.id, '--revoke-old', '--disconnect', '--json'])).json();
  assert.deepEqual(rotated.revoked, [chat.key]);
  assert.equal(rotated.disconnect, true);
  const closes = await Promise.all(doomed.map((c) => closedWithin(c, 1000)));
  assert.deepEqual(closes, [{ code: 4001, reason: 'Application key revoked' }, { code: 4001, reason: 'Application key revoked' }]);
  const fresh = await rawConnection(s2, rotated.key);
  assert.equal(await closedWithin(fresh, 200), null);
  const [entry] = auditRows(db, "action = 'key.rotate'");
  assert.deepEqual(entry.details, { key: rotated.key, label: '', revoked: [chat.key], disconnect: true });
});
