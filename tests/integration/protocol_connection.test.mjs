// Connection lifecycle (PROTOCOL.md §1-§4): handshake, handshake failures with their
// pusher:error + close codes, pusher:ping, and the server's liveness timer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, createApp, startServer, rtadmin } from '../harness/index.mjs';
import {
  RawClient, SOCKET_ID_RE, alive, connected, handshakeFailure, pusherClient, sleep, waitFor, wsUrl,
} from './helpers.mjs';

let db, server, app, quotaApp, originApp, disabledApp;
const clients = [];
const keep = (c) => (clients.push(c), c);

before(async () => {
  db = createDatabase();
  app = createApp(db, []);
  quotaApp = createApp(db, ['--max-connections', '1'], 'quota');
  originApp = createApp(db, ['--allowed-origins', 'https://good.example,*.trusted.example'], 'origins');
  disabledApp = createApp(db, [], 'to-disable');
  server = await startServer({ dbUrl: db });
});

after(async () => {
  for (const c of clients) (c.disconnect ? c.disconnect() : c.close());
  await server?.stop();
});

/** Asserts a handshake that fails with pusher:error {code, message} then close(code, message). */
async function expectHandshakeFailure(url, code, message, wsOptions) {
  const { closed, messages } = await handshakeFailure(url, wsOptions);
  assert.ok(closed, `connection to ${url} was not closed`);
  assert.deepEqual(messages, [{ event: 'pusher:error', data: { code, message } }]);
  assert.equal(closed.code, code);
  assert.equal(closed.reason, message);
}

describe('handshake', () => {
  test('connection_established carries a socket_id matching ^\\d+\\.\\d+$ and activity_timeout 120', async () => {
    const c = keep(await RawClient.connect(wsUrl(server, app.key)));
    const m = c.messages[0];
    assert.equal(m.event, 'pusher:connection_established');
    assert.equal(typeof m.data, 'string', 'data is a JSON-encoded string');
    assert.equal(m.channel, undefined);
    const data = JSON.parse(m.data);
    assert.deepEqual(Object.keys(data).sort(), ['activity_timeout', 'socket_id']);
    assert.match(data.socket_id, SOCKET_ID_RE);
    assert.equal(data.activity_timeout, 120);
  });

  test('every connection gets a distinct socket_id', async () => {
    const ids = new Set();
    for (let i = 0; i < 10; i++) {
      const c = await RawClient.connect(wsUrl(server, app.key));
      ids.add(c.socketId);
      c.close();
    }
    assert.equal(ids.size, 10);
  });

  test('pusher-js connects and reports a socket_id matching ^\\d+\\.\\d+$', async () => {
    const p = keep(pusherClient(server, app));
    const socketId = await connected(p);
    assert.match(socketId, SOCKET_ID_RE);
  });

  test('a missing protocol query parameter is accepted as protocol 7', async () => {
    const c = keep(await RawClient.connect(wsUrl(server, app.key, { query: '' })));
    assert.match(c.socketId, SOCKET_ID_RE);
  });

  test('protocol=4 through protocol=7 are accepted', async () => {
    for (const p of [4, 5, 6, 7]) {
      const c = await RawClient.connect(wsUrl(server, app.key, { query: `protocol=${p}` }));
      assert.match(c.socketId, SOCKET_ID_RE);
      c.close();
    }
  });

  test('unknown query parameters are ignored', async () => {
    const c = keep(await RawClient.connect(wsUrl(server, app.key, { query: 'protocol=7&foo=bar&client=x' })));
    assert.match(c.socketId, SOCKET_ID_RE);
  });
});

describe('handshake failures', () => {
  test('unknown app key: pusher:error 4001 "Application does not exist", then close 4001', async () => {
    await expectHandshakeFailure(wsUrl(server, 'no-such-key-123'), 4001, 'Application does not exist');
  });

  test('pusher-js surfaces an unknown key as error 4001 and does not reconnect', async () => {
    const p = keep(pusherClient(server, { ...app, key: 'no-such-key-456' }));
    const errors = [];
    p.connection.bind('error', (e) => errors.push(e));
    await waitFor(() => errors.length > 0, 5000, 'pusher-js error');
    // During the handshake pusher-js wraps the server's pusher:error in a WebSocketError.
    assert.equal(errors[0].type, 'WebSocketError');
    assert.deepEqual(errors[0].error, { type: 'PusherError', data: { code: 4001, message: 'Application does not exist' } });
    await waitFor(() => p.connection.state === 'failed' || p.connection.state === 'disconnected', 5000, 'pusher-js gave up');
    await sleep(1500);
    assert.notEqual(p.connection.state, 'connected');
  });

  test('a path other than /app/{key}: pusher:error 4005 "Path not found", then close 4005', async () => {
    await expectHandshakeFailure(wsUrl(server, app.key, { path: '/nope/' + app.key }), 4005, 'Path not found');
  });

  test('an empty app key (/app/): pusher:error 4005 "Path not found", then close 4005', async () => {
    await expectHandshakeFailure(wsUrl(server, app.key, { path: '/app/' }), 4005, 'Path not found');
  });

  test('extra path segments after the key: close 4005', async () => {
    await expectHandshakeFailure(wsUrl(server, app.key, { path: `/app/${app.key}/extra` }), 4005, 'Path not found');
  });

  test('protocol=abc: pusher:error 4006 "Invalid version string format", then close 4006', async () => {
    await expectHandshakeFailure(wsUrl(server, app.key, { query: 'protocol=abc' }), 4006, 'Invalid version string format');
  });

  test('protocol= (empty): close 4006', async () => {
    await expectHandshakeFailure(wsUrl(server, app.key, { query: 'protocol=' }), 4006, 'Invalid version string format');
  });

  test('protocol=3: pusher:error 4007 "Unsupported protocol version", then close 4007', async () => {
    await expectHandshakeFailure(wsUrl(server, app.key, { query: 'protocol=3' }), 4007, 'Unsupported protocol version');
  });

  test('protocol=8: close 4007', async () => {
    await expectHandshakeFailure(wsUrl(server, app.key, { query: 'protocol=8' }), 4007, 'Unsupported protocol version');
  });

  test('origin not on the allow-list: pusher:error 4009 "Origin not allowed", then close 4009', async () => {
    await expectHandshakeFailure(wsUrl(server, originApp.key), 4009, 'Origin not allowed', { origin: 'https://evil.example' });
  });

  test('origins on the allow-list (exact and *.wildcard) connect', async () => {
    for (const origin of ['https://good.example', 'https://a.trusted.example']) {
      const c = await RawClient.connect(wsUrl(server, originApp.key), { origin });
      assert.match(c.socketId, SOCKET_ID_RE);
      c.close();
    }
  });

  test('over the per-app connection quota (--max-connections 1): pusher:error 4004, then close 4004', async () => {
    const first = keep(await RawClient.connect(wsUrl(server, quotaApp.key)));
    assert.match(first.socketId, SOCKET_ID_RE);
    await expectHandshakeFailure(wsUrl(server, quotaApp.key), 4004, 'Application is over connection quota');
    // The first connection is unaffected, and its slot frees up when it closes.
    await first.ping();
    first.close();
    await first.closed;
    await waitFor(async () => {
      const c = new RawClient(wsUrl(server, quotaApp.key));
      const m = await c.next((m) => m.event === 'pusher:connection_established' || m.event === 'pusher:error').catch(() => null);
      c.close();
      return m && m.event === 'pusher:connection_established';
    }, 3000, 'quota slot freed');
  });

  test('a disabled app (rtadmin app disable): open sockets close with 4003 and new ones get 4003 "Application disabled"', async () => {
    const c = keep(await RawClient.connect(wsUrl(server, disabledApp.key)));
    const r = rtadmin(['app', 'disable', disabledApp.id], { RT_DATABASE_URL: db });
    assert.equal(r.code, 0, r.stderr);
    const closed = await Promise.race([c.closed, sleep(5000).then(() => null)]);
    assert.ok(closed, 'open socket was not closed after app disable');
    assert.equal(closed.code, 4003);
    assert.equal(closed.reason, 'Application disabled');
    assert.deepEqual(c.messages.at(-1), { event: 'pusher:error', data: { code: 4003, message: 'Application disabled' } });
    await expectHandshakeFailure(wsUrl(server, disabledApp.key), 4003, 'Application disabled');
  });

  test('a re-enabled app (rtadmin app enable) accepts connections again', async () => {
    const r = rtadmin(['app', 'enable', disabledApp.id], { RT_DATABASE_URL: db });
    assert.equal(r.code, 0, r.stderr);
    await waitFor(async () => {
      const c = new RawClient(wsUrl(server, disabledApp.key));
      const m = await c.next((m) => m.event === 'pusher:connection_established' || m.event === 'pusher:error').catch(() => null);
      c.close();
      return m && m.event === 'pusher:connection_established';
    }, 5000, 'app re-enabled');
  });

  test('rtadmin app update --allowed-origins applies to new connections without a restart', async () => {
    const a = createApp(db, [], 'origin-later');
    await waitFor(async () => {
      const c = new RawClient(wsUrl(server, a.key));
      const m = await c.next((m) => m.event === 'pusher:connection_established' || m.event === 'pusher:error').catch(() => null);
      c.close();
      return m && m.event === 'pusher:connection_established';
    }, 5000, 'new app visible to the server');
    const r = rtadmin(['app', 'update', a.id, '--allowed-origins', 'https://only.example'], { RT_DATABASE_URL: db });
    assert.equal(r.code, 0, r.stderr);
    await waitFor(async () => {
      const { closed } = await handshakeFailure(wsUrl(server, a.key), { origin: 'https://other.example' }, 1000);
      return closed && closed.code === 4009;
    }, 5000, 'origin refused with 4009');
    const ok = await RawClient.connect(wsUrl(server, a.key), { origin: 'https://only.example' });
    assert.match(ok.socketId, SOCKET_ID_RE);
    ok.close();
  });
});

describe('ping', () => {
  test('pusher:ping is answered with pusher:pong and data "{}"', async () => {
    const c = keep(await RawClient.connect(wsUrl(server, app.key)));
    const pong = await c.ping();
    assert.deepEqual(pong, { event: 'pusher:pong', data: '{}' });
  });

  test('pusher:ping with data as a JSON string is answered too', async () => {
    const c = keep(await RawClient.connect(wsUrl(server, app.key)));
    const pong = await c.request({ event: 'pusher:ping', data: '{}' }, (m) => m.event === 'pusher:pong');
    assert.deepEqual(pong, { event: 'pusher:pong', data: '{}' });
  });

  test('a WebSocket protocol ping is answered with a protocol pong', async () => {
    const c = keep(await RawClient.connect(wsUrl(server, app.key)));
    const got = new Promise((resolve) => c.ws.once('pong', (d) => resolve(d.toString())));
    c.ws.ping('hello');
    assert.equal(await Promise.race([got, sleep(3000).then(() => 'timeout')]), 'hello');
  });

  test('pusher:pong from the client gets no reply', async () => {
    const c = keep(await RawClient.connect(wsUrl(server, app.key)));
    const from = c.messages.length;
    c.send({ event: 'pusher:pong', data: {} });
    await sleep(300);
    assert.deepEqual(c.since(from), []);
  });
});

describe('activity timeout (RT_ACTIVITY_TIMEOUT=1, RT_PONG_TIMEOUT=1)', () => {
  let fast;
  before(async () => {
    fast = await startServer({ dbUrl: db, env: { RT_ACTIVITY_TIMEOUT: '1', RT_PONG_TIMEOUT: '1' } });
  });
  after(async () => { await fast?.stop(); });

  test('connection_established advertises the configured activity_timeout', async () => {
    const c = keep(await RawClient.connect(wsUrl(fast, app.key)));
    assert.equal(c.established.activity_timeout, 1);
  });

  test('a client that never answers the server ping is closed with 4201 "Pong reply not received"', async () => {
    const c = keep(await RawClient.connect(wsUrl(fast, app.key), { autoPong: false }));
    const pinged = new Promise((resolve) => c.ws.once('ping', resolve));
    const start = Date.now();
    const closed = await Promise.race([c.closed, sleep(8000).then(() => null)]);
    assert.ok(closed, 'silent client was not closed within 8 s');
    assert.equal(closed.code, 4201);
    assert.equal(closed.reason, 'Pong reply not received');
    assert.equal(await Promise.race([pinged.then(() => true), sleep(0).then(() => false)]), true, 'server sent a protocol ping first');
    assert.ok(Date.now() - start >= 1500, 'closed no earlier than activity_timeout + pong_timeout');
    assert.deepEqual(c.messages.at(-1), { event: 'pusher:error', data: { code: 4201, message: 'Pong reply not received' } });
  });

  test('a client that answers protocol pings stays connected past 3 s', async () => {
    const c = keep(await RawClient.connect(wsUrl(fast, app.key)));
    let pings = 0;
    c.ws.on('ping', () => pings++);
    await sleep(3500);
    assert.equal(c.isClosed, false);
    assert.ok(pings >= 1, 'server pinged the idle client');
    await c.ping();
  });

  test('pusher-js stays connected past 3 s on a server with a 1 s activity timeout', async () => {
    const p = keep(pusherClient(fast, app));
    const socketId = await connected(p);
    await sleep(3500);
    assert.equal(p.connection.state, 'connected');
    assert.equal(p.connection.socket_id, socketId, 'no reconnect happened');
  });

  test('the fast server process is still alive', () => {
    assert.ok(alive(fast));
  });
});

test('the server process is still alive at the end', async () => {
  assert.ok(alive(server));
  const c = await RawClient.connect(wsUrl(server, app.key));
  await c.ping();
  c.close();
});
