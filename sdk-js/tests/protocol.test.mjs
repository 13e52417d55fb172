// Connection robustness against a scripted fake server: every close-code range, liveness
// pings, network events, handshake timeouts and auth request format. No rtserver needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeClient, startFakeServer, established, nextEvent, waitForState, recordStates, sleep, startAuthServer } from './helpers.mjs';

/** Fake server that greets the first connection with `first`, later ones with a handshake. */
async function withServer(first, fn) {
  let n = 0;
  const fake = await startFakeServer((socket) => (n++ === 0 ? first(socket) : established(socket)));
  try {
    await fn(fake);
  } finally {
    await fake.close();
  }
}

test('4000 switches to wss:// and retries at once', async () => {
  await withServer((s) => s.close(4000, 'TLS only'), async (fake) => {
    const seen = [];
    class RecordingWebSocket {
      constructor(url) {
        seen.push(url);
        // The fake server speaks plain ws only: record the TLS URL, then connect without TLS.
        return new (globalThis.__WS)(url.replace(/^wss:/, 'ws:'));
      }
    }
    globalThis.__WS = (await import('ws')).WebSocket;
    const client = makeClient('key', fake, { WebSocket: RecordingWebSocket });
    await waitForState(client, 'connected');
    client.disconnect();
    assert.match(seen[0], /^ws:\/\//);
    assert.match(seen[1], /^wss:\/\//);
  });
});

test('4001 (application does not exist) fails without retrying and reports the error', async () => {
  await withServer(
    (s) => {
      s.send(JSON.stringify({ event: 'pusher:error', data: { code: 4001, message: 'Application does not exist' } }));
      s.close(4001, 'Application does not exist');
    },
    async (fake) => {
      const client = makeClient('nope', fake);
      const error = nextEvent(client.connection, 'error');
      await waitForState(client, 'disconnected');
      assert.deepEqual((await error).data, { code: 4001, message: 'Application does not exist' });
      await sleep(1500);
      assert.equal(fake.urls.length, 1, 'no reconnection after 4001');
      assert.equal(client.connection.state, 'disconnected');
    },
  );
});

test('a fatal pusher:error followed by an abnormal close still ends the connection', async () => {
  await withServer(
    (s) => {
      s.send(JSON.stringify({ event: 'pusher:error', data: { code: 4009, message: 'Unauthorized' } }));
      setTimeout(() => s.terminate(), 20);
    },
    async (fake) => {
      const client = makeClient('k', fake);
      await waitForState(client, 'disconnected');
      assert.equal(fake.urls.length, 1);
    },
  );
});

test('a non-fatal 4301 error followed by a network drop still reconnects', async () => {
  await withServer(
    (s) => {
      established(s);
      s.send(JSON.stringify({ event: 'pusher:error', data: { code: 4301, message: 'Client event rate limit' } }));
      setTimeout(() => s.terminate(), 50);
    },
    async (fake) => {
      const client = makeClient('k', fake, { reconnectDelay: 50 });
      const error = nextEvent(client.connection, 'error');
      await waitForState(client, 'connected');
      assert.equal((await error).data.code, 4301);
      await nextEvent(client.connection, 'connecting');
      await waitForState(client, 'connected');
      assert.equal(fake.urls.length, 2);
      client.disconnect();
    },
  );
});

test('4100 backs off at least one second before retrying', async () => {
  await withServer((s) => s.close(4100, 'Over capacity'), async (fake) => {
    const client = makeClient('k', fake);
    const start = Date.now();
    const secs = nextEvent(client.connection, 'connecting_in');
    await waitForState(client, 'connected', 5000);
    client.disconnect();
    assert.ok(Date.now() - start >= 1000, `reconnected after ${Date.now() - start} ms`);
    assert.ok((await secs) >= 1);
  });
});

test('4200 reconnects immediately', async () => {
  await withServer((s) => established(s) || setTimeout(() => s.close(4200, 'Reconnect now'), 50), async (fake) => {
    const client = makeClient('k', fake);
    await waitForState(client, 'connected');
    const first = client.connection.socket_id;
    const t = Date.now();
    await nextEvent(client.connection, 'connecting');
    await waitForState(client, 'connected');
    client.disconnect();
    // Below the 1 s minimum back-off of every other close code, with room for a loaded CI.
    assert.ok(Date.now() - t < 900, `took ${Date.now() - t} ms`);
    assert.notEqual(client.connection.socket_id, first);
  });
});

test('a client starts in initialized and connects right after construction', async () => {
  const fake = await startFakeServer((s) => established(s));
  const client = makeClient('k', fake);
  assert.equal(client.connection.state, 'initialized');
  const states = recordStates(client);
  await waitForState(client, 'connected');
  assert.deepEqual(states, ['connecting', 'connected']);
  assert.match(client.connection.socket_id, /^\d+\.\d+$/);
  client.disconnect();
  await fake.close();
});

test('an ordinary drop reconnects with jittered backoff and goes back to connected', async () => {
  await withServer((s) => established(s) || setTimeout(() => s.terminate(), 50), async (fake) => {
    const client = makeClient('k', fake, { reconnectDelay: 200 });
    const states = recordStates(client);
    await waitForState(client, 'connected');
    await nextEvent(client.connection, 'connecting');
    await waitForState(client, 'connected');
    client.disconnect();
    assert.deepEqual(states, ['connecting', 'connected', 'connecting', 'connected', 'disconnected']);
  });
});

test('silence triggers pusher:ping; a dead socket is replaced after pongTimeout', async () => {
  // First connection: handshake with activity_timeout 1 s, then never answers anything.
  await withServer((s) => established(s, 1), async (fake) => {
    const client = makeClient('k', fake, { pongTimeout: 300 });
    await waitForState(client, 'connected');
    await sleep(1100);
    assert.deepEqual(fake.frames.at(-1), { event: 'pusher:ping', data: {} });
    await nextEvent(client.connection, 'connecting', 1000);
    await waitForState(client, 'connected');
    assert.equal(fake.urls.length, 2);
    client.disconnect();
  });
});

test('any frame from the server counts as the pong', async () => {
  const fake = await startFakeServer((s) => {
    established(s, 1);
    s.on('message', (d) => JSON.parse(String(d)).event === 'pusher:ping' && s.send('{"event":"pusher:pong","data":"{}"}'));
  });
  const client = makeClient('k', fake, { pongTimeout: 300 });
  await waitForState(client, 'connected');
  await sleep(1600);
  assert.equal(client.connection.state, 'connected');
  assert.equal(fake.urls.length, 1);
  client.disconnect();
  await fake.close();
});

test('the client answers a server pusher:ping with pusher:pong', async () => {
  const fake = await startFakeServer((s) => {
    established(s);
    s.send('{"event":"pusher:ping","data":"{}"}');
  });
  const client = makeClient('k', fake);
  await waitForState(client, 'connected');
  await sleep(50);
  assert.deepEqual(fake.frames, [{ event: 'pusher:pong', data: {} }]);
  client.disconnect();
  await fake.close();
});

test('a server that never completes the handshake is abandoned after connectTimeout', async () => {
  await withServer(() => {}, async (fake) => {
    const client = makeClient('k', fake, { connectTimeout: 200, reconnectDelay: 50 });
    await waitForState(client, 'connected', 2000);
    assert.equal(fake.urls.length, 2);
    client.disconnect();
  });
});

test('state becomes unavailable while the server is unreachable, then connected', async () => {
  const fake = await startFakeServer((s) => established(s));
  const { port } = fake;
  await fake.close();
  const client = makeClient('k', { host: '127.0.0.1', port }, { unavailableTimeout: 200, reconnectDelay: 100, maxReconnectDelay: 200 });
  await waitForState(client, 'unavailable', 2000);
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  wss.on('connection', (s) => {
    s.socketId = '9.9';
    established(s);
  });
  await waitForState(client, 'connected', 3000);
  assert.equal(client.connection.socket_id, '9.9');
  client.disconnect();
  for (const s of wss.clients) s.terminate();
  await new Promise((r) => wss.close(r));
});

test('going offline checks the socket at once; coming online skips the backoff', async () => {
  const network = new EventTarget();
  const fake = await startFakeServer((s) => established(s));
  const client = makeClient('k', fake, { networkEvents: network, reconnectDelay: 60000, pongTimeout: 200 });
  await waitForState(client, 'connected');
  network.dispatchEvent(new Event('offline'));
  await sleep(20);
  assert.deepEqual(fake.frames.at(-1), { event: 'pusher:ping', data: {} });
  // No pong comes: the socket is declared dead and the first retry is immediate.
  await nextEvent(client.connection, 'connecting', 1000);
  await waitForState(client, 'connected');
  // Now drop again: the retry waits on a long backoff until the browser says we are online.
  fake.sockets.at(-1).terminate();
  await nextEvent(client.connection, 'connecting_in');
  network.dispatchEvent(new Event('online'));
  await waitForState(client, 'connected', 1000);
  client.disconnect();
  await fake.close();
});

test('disconnect() closes the socket and stops reconnecting', async () => {
  const fake = await startFakeServer((s) => established(s));
  const client = makeClient('k', fake, { reconnectDelay: 10 });
  await waitForState(client, 'connected');
  client.disconnect();
  assert.equal(client.connection.state, 'disconnected');
  assert.equal(client.connection.socket_id, null);
  await sleep(200);
  assert.equal(fake.urls.length, 1);
  client.connect();
  await waitForState(client, 'connected');
  client.disconnect();
  await fake.close();
});

test('auth requests are form-encoded POSTs, and HTTP failures become pusher:subscription_error', async () => {
  const { default: Pusher } = await import('pusher');
  const pusher = new Pusher({ appId: '1', key: 'key', secret: 'secret' });
  const auth = await startAuthServer(pusher);
  const fake = await startFakeServer((s) => {
    established(s);
    s.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.event === 'pusher:subscribe') {
        s.send(JSON.stringify({ event: 'pusher_internal:subscription_succeeded', channel: m.data.channel, data: '{}' }));
      }
    });
  });
  const client = makeClient('key', fake, { authEndpoint: `${auth.base}/auth`, auth: { headers: { 'X-Token': 't1' } } });
  const ok = client.subscribe('private-orders');
  await nextEvent(ok, 'pusher:subscription_succeeded');
  const socketId = client.connection.socket_id;
  assert.equal(auth.requests[0].contentType, 'application/x-www-form-urlencoded');
  assert.equal(auth.requests[0].body, `socket_id=${socketId}&channel_name=private-orders`);
  assert.equal(auth.requests[0].headers['x-token'], 't1');
  const sub = fake.frames.find((f) => f.event === 'pusher:subscribe');
  assert.deepEqual(sub.data, { auth: pusher.authorizeChannel(socketId, 'private-orders').auth, channel: 'private-orders' });

  const denied = makeClient('key', fake, { channelAuthorization: { endpoint: `${auth.base}/deny` } });
  const error = await nextEvent(denied.subscribe('private-secret'), 'pusher:subscription_error');
  assert.equal(error.type, 'AuthError');
  assert.equal(error.status, 403);
  client.disconnect();
  denied.disconnect();
  await auth.close();
  await fake.close();
});

test('a server-sent pusher:subscription_error reaches the channel', async () => {
  const fake = await startFakeServer((s) => {
    established(s);
    s.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.event !== 'pusher:subscribe') return;
      s.send(JSON.stringify({ event: 'pusher:subscription_error', channel: m.data.channel, data: { type: 'AuthError', error: 'Invalid signature', status: 401 } }));
    });
  });
  const client = makeClient('key', fake, {
    channelAuthorization: { customHandler: (_params, cb) => cb(null, { auth: 'key:bad' }) },
  });
  const channel = client.subscribe('private-x');
  const error = await nextEvent(channel, 'pusher:subscription_error');
  assert.deepEqual(error, { type: 'AuthError', error: 'Invalid signature', status: 401 });
  assert.equal(channel.subscriptionPending, false);
  assert.equal(channel.subscribed, false);
  client.disconnect();
  await fake.close();
});

test('no WebSocket implementation means failed, with an error saying what to pass', async () => {
  const saved = globalThis.WebSocket;
  delete globalThis.WebSocket;
  const client = makeClient('k', { host: '127.0.0.1', port: 1 }, { WebSocket: undefined });
  const error = nextEvent(client.connection, 'error');
  await waitForState(client, 'failed');
  assert.match((await error).error, /pass options\.WebSocket/);
  if (saved) globalThis.WebSocket = saved;
});

/** Fake server that confirms every subscription after `delay` ms. */
async function confirmingServer(delay = 0) {
  return startFakeServer((s) => {
    established(s);
    s.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.event !== 'pusher:subscribe') return;
      setTimeout(() => s.send(JSON.stringify({ event: 'pusher_internal:subscription_succeeded', channel: m.data.channel, data: '{}' })), delay);
    });
  });
}

test('unsubscribe while the subscription is in flight unsubscribes once it succeeds', async () => {
  const fake = await confirmingServer(100);
  const client = makeClient('k', fake);
  await waitForState(client, 'connected');
  const channel = client.subscribe('news');
  client.unsubscribe('news');
  assert.equal(channel.subscriptionCancelled, true);
  await sleep(200);
  assert.deepEqual(fake.frames.map((f) => f.event), ['pusher:subscribe', 'pusher:unsubscribe']);
  assert.equal(client.channel('news'), undefined);
  client.disconnect();
  await fake.close();
});

test('subscribe again before the cancelled subscription completes keeps it', async () => {
  const fake = await confirmingServer(100);
  const client = makeClient('k', fake);
  await waitForState(client, 'connected');
  client.subscribe('news');
  client.unsubscribe('news');
  const channel = client.subscribe('news');
  await nextEvent(channel, 'pusher:subscription_succeeded');
  assert.equal(channel.subscribed, true);
  assert.deepEqual(fake.frames.map((f) => f.event), ['pusher:subscribe']);
  client.disconnect();
  await fake.close();
});

test('an authorization answered after the socket changed is not sent on the new socket', async () => {
  const fake = await confirmingServer();
  const pending = [];
  const client = makeClient('k', fake, {
    reconnectDelay: 10,
    channelAuthorization: { customHandler: (params, cb) => pending.push({ params, cb }) },
  });
  await waitForState(client, 'connected');
  client.subscribe('private-x');
  await sleep(20);
  fake.sockets[0].terminate();
  await nextEvent(client.connection, 'connected');
  const [stale, fresh] = pending;
  assert.notEqual(stale.params.socketId, fresh.params.socketId);
  stale.cb(null, { auth: 'k:stale' });
  fresh.cb(null, { auth: 'k:fresh' });
  await nextEvent(client.channel('private-x'), 'pusher:subscription_succeeded');
  const subscribes = fake.frames.filter((f) => f.event === 'pusher:subscribe');
  assert.deepEqual(subscribes.map((f) => f.data.auth), ['k:fresh']);
  client.disconnect();
  await fake.close();
});

test('client events are sent as {event, channel, data} frames', async () => {
  const fake = await confirmingServer();
  const client = makeClient('k', fake, { channelAuthorization: { customHandler: (_p, cb) => cb(null, { auth: 'k:sig' }) } });
  const channel = client.subscribe('private-chat');
  await nextEvent(channel, 'pusher:subscription_succeeded');
  assert.equal(channel.trigger('client-typing', { on: true }), true);
  await sleep(20);
  assert.deepEqual(fake.frames.at(-1), { event: 'client-typing', channel: 'private-chat', data: { on: true } });
  client.disconnect();
  assert.equal(channel.trigger('client-typing', {}), false, 'nothing is sent while disconnected');
  await fake.close();
});

test('presence frames update members and emit member_added/member_removed', async () => {
  const fake = await startFakeServer((s) => {
    established(s);
    s.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.event !== 'pusher:subscribe') return;
      const presence = { count: 2, ids: ['1', '2'], hash: { 1: { name: 'me' }, 2: null } };
      s.send(JSON.stringify({ event: 'pusher_internal:subscription_succeeded', channel: m.data.channel, data: JSON.stringify({ presence }) }));
      s.send(JSON.stringify({ event: 'pusher_internal:member_added', channel: m.data.channel, data: '{"user_id":"3","user_info":{"name":"new"}}' }));
      s.send(JSON.stringify({ event: 'pusher_internal:member_removed', channel: m.data.channel, data: '{"user_id":"2"}' }));
    });
  });
  const channelData = JSON.stringify({ user_id: '1', user_info: { name: 'me' } });
  const client = makeClient('k', fake, { channelAuthorization: { customHandler: (_p, cb) => cb(null, { auth: 'k:s', channel_data: channelData }) } });
  const room = client.subscribe('presence-room');
  const added = nextEvent(room, 'pusher:member_added');
  const removed = nextEvent(room, 'pusher:member_removed');
  const members = await nextEvent(room, 'pusher:subscription_succeeded');
  assert.deepEqual(members.me, { id: '1', info: { name: 'me' } });
  assert.deepEqual(await added, { id: '3', info: { name: 'new' } });
  assert.deepEqual(await removed, { id: '2', info: null });
  assert.equal(room.members.count, 2);
  assert.equal(fake.frames[0].data.channel_data, channelData, 'channel_data is passed through byte for byte');
  client.disconnect();
  await fake.close();
});

test('encrypted channel: a payload that fails to open triggers one key refetch (rotation)', async () => {
  const nacl = (await import('tweetnacl')).default;
  const keys = [nacl.randomBytes(32), nacl.randomBytes(32)];
  const b64 = (bytes) => Buffer.from(bytes).toString('base64');
  let authCalls = 0;
  const customHandler = (_p, cb) => cb(null, { auth: 'k:s', shared_secret: b64(keys[Math.min(authCalls++, 1)]) });
  const fake = await confirmingServer();
  const client = makeClient('k', fake, { channelAuthorization: { customHandler } });
  const vault = client.subscribe('private-encrypted-vault');
  await nextEvent(vault, 'pusher:subscription_succeeded');
  const nonce = nacl.randomBytes(24);
  const box = (text, key) => JSON.stringify({ nonce: b64(nonce), ciphertext: b64(nacl.secretbox(new TextEncoder().encode(text), nonce, key)) });
  const got = nextEvent(vault, 'secret');
  fake.sockets[0].send(JSON.stringify({ event: 'secret', channel: 'private-encrypted-vault', data: box('{"v":2}', keys[1]) }));
  assert.deepEqual(await got, { v: 2 });
  assert.equal(authCalls, 2);
  const failed = nextEvent(vault, 'pusher:decryption_error');
  fake.sockets[0].send(JSON.stringify({ event: 'secret', channel: 'private-encrypted-vault', data: box('{}', nacl.randomBytes(32)) }));
  assert.equal((await failed).event, 'secret');
  client.disconnect();
  await fake.close();
});
