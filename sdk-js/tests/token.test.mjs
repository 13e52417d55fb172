// Connection tokens (JWT) with a live rtserver: the token option as a string or a function
// asked again before every connection; channels granted by the token need no auth request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startLive, makeClient, nextEvent, waitForState, sleep } from './helpers.mjs';

let live;
before(async () => { live = await startLive(['--client-events']); });
after(async () => { await live?.stop(); });

/** HS256 token signed with the app secret, kid = app key (what rtadmin token makes). */
function mint(claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ alg: 'HS256', typ: 'JWT', kid: live.app.key });
  const body = b64({ aud: live.app.key, iat: now, exp: now + 60, ...claims });
  const sig = createHmac('sha256', live.app.secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

test('a string token signs the connection in: server-to-user events reach it', async () => {
  const client = makeClient(live.app.key, live.server, { token: mint({ sub: 'ada' }) });
  live.clients.push(client);
  await waitForState(client, 'connected');
  await sleep(200);
  const got = nextEvent(client.user, 'invoice.paid');
  await live.pusher.sendToUser('ada', 'invoice.paid', { id: 7 });
  assert.deepEqual(await got, { id: 7 });
});

test('channels granted by the token subscribe with no authorization request', async () => {
  let authCalls = 0;
  const client = makeClient(live.app.key, live.server, {
    token: mint({ sub: 'bob', channels: ['private-orders', 'presence-room-*'], user_info: { name: 'Bob' } }),
    channelAuthorization: { customHandler: (_p, cb) => { authCalls++; cb(new Error('no auth endpoint'), null); } },
  });
  live.clients.push(client);
  const priv = client.subscribe('private-orders');
  await nextEvent(priv, 'pusher:subscription_succeeded');
  const room = client.subscribe('presence-room-1');
  const members = await nextEvent(room, 'pusher:subscription_succeeded');
  assert.equal(members.count, 1);
  assert.equal(members.me.id, 'bob');
  assert.deepEqual(members.me.info, { name: 'Bob' });
  assert.equal(authCalls, 0);
  // Not granted: the authorization request is made (and here refused).
  const other = client.subscribe('private-secret');
  const err = await nextEvent(other, 'pusher:subscription_error');
  assert.equal(err.type, 'AuthError');
  assert.equal(authCalls, 1);
});

test('a token function is called again before every connection attempt', async () => {
  const calls = [];
  const client = makeClient(live.app.key, live.server, {
    token: async () => {
      calls.push(Date.now());
      return mint({ sub: 'cy' });
    },
    reconnectDelay: 100,
  });
  live.clients.push(client);
  await waitForState(client, 'connected');
  assert.equal(calls.length, 1);
  // The connection drops (abnormal close, 1006): the client reconnects with a fresh token.
  const reconnected = nextEvent(client.connection, 'connected', 8000);
  client.connection._socket.terminate();
  await reconnected;
  assert.ok(calls.length >= 2, `token function called ${calls.length} times`);
});

test('an expired token from a function is replaced by a fresh one on the next attempt', async () => {
  let n = 0;
  const client = makeClient(live.app.key, live.server, {
    token: () => (++n === 1 ? mint({ sub: 'dee', exp: Math.floor(Date.now() / 1000) - 3600 }) : mint({ sub: 'dee' })),
    reconnectDelay: 100,
  });
  live.clients.push(client);
  await waitForState(client, 'connected', 8000);
  assert.equal(n, 2);
});
