// POST /apps/{id}/events through the real `pusher` SDK, delivered to real pusher-js clients
// (PROTOCOL.md §14.3, §10.3, §10.4).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createDatabase, createApp, startServer, waitFor } from '../harness/index.mjs';
import {
  restClient, sdkJson, connectClient, subscribe, signin, eventsOf, flush, signedRequest,
} from './rest_helpers.mjs';

let server, app, rest;
const clients = [];
const client = async (opts) => {
  const c = await connectClient(server, app, opts);
  clients.push(c);
  return c;
};

before(async () => {
  const db = createDatabase();
  app = createApp(db, ['--subscription-count', '--user-auth']);
  server = await startServer({ dbUrl: db });
  rest = restClient(server, app);
});

after(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});

test('trigger to one channel answers 200 with {} and delivers the event to a pusher-js subscriber', async () => {
  const c = await client();
  await subscribe(c, 'orders');
  const res = await rest.trigger('orders', 'order.shipped', { id: 1 });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  assert.deepEqual(await res.json(), {});
  await waitFor(() => eventsOf(c, 'orders', 'order.shipped').length === 1, 3000, 'event');
  assert.deepEqual(eventsOf(c, 'orders', 'order.shipped')[0].data, { id: 1 });
});

test('trigger to several channels delivers once on each channel', async () => {
  const c = await client();
  await subscribe(c, 'multi-a');
  await subscribe(c, 'private-multi-b');
  await subscribe(c, 'cache-multi-c');
  assert.deepEqual(await sdkJson(rest.trigger(['multi-a', 'private-multi-b', 'cache-multi-c'], 'tick', 'plain text')), {});
  for (const ch of ['multi-a', 'private-multi-b', 'cache-multi-c'])
    await waitFor(() => eventsOf(c, ch, 'tick').length === 1, 3000, `event on ${ch}`);
  await flush(rest, [c], 'multi-a');
  for (const ch of ['multi-a', 'private-multi-b', 'cache-multi-c']) {
    assert.equal(eventsOf(c, ch, 'tick').length, 1, `exactly one event on ${ch}`);
    assert.equal(eventsOf(c, ch, 'tick')[0].data, 'plain text');
  }
});

test('trigger with socket_id skips that connection and still reaches the others', async () => {
  const excluded = await client();
  const other = await client();
  await subscribe(excluded, 'excl');
  await subscribe(other, 'excl');
  const socketId = excluded.connection.socket_id;
  assert.match(socketId, /^\d+\.\d+$/);
  assert.deepEqual(await sdkJson(rest.trigger('excl', 'not-for-you', { n: 1 }, { socket_id: socketId })), {});
  await waitFor(() => eventsOf(other, 'excl', 'not-for-you').length === 1, 3000, 'delivery to the other client');
  await flush(rest, [excluded, other], 'excl');
  assert.equal(eventsOf(excluded, 'excl', 'not-for-you').length, 0);
});

test('trigger with info=user_count,subscription_count reports both in the response', async () => {
  const a = await client({ presence: { user_id: 'u-1', user_info: { name: 'Ada' } } });
  const b = await client({ presence: { user_id: 'u-2' } });
  const b2 = await client({ presence: { user_id: 'u-2' } }); // same user, second socket
  for (const c of [a, b, b2]) await subscribe(c, 'presence-info');
  await subscribe(a, 'info-public');
  await subscribe(b, 'info-public');
  const body = await sdkJson(rest.trigger(['presence-info', 'info-public'], 'e', {}, { info: 'user_count,subscription_count' }));
  assert.deepEqual(body, {
    channels: {
      'presence-info': { user_count: 2, subscription_count: 3 }, // connections (PROTOCOL.md §17.14)
      'info-public': { subscription_count: 2 },
    },
  });
});

test('trigger with info on an unoccupied channel reports zero counts', async () => {
  const body = await sdkJson(rest.trigger(['presence-empty', 'empty'], 'e', {}, { info: 'user_count,subscription_count' }));
  assert.deepEqual(body, { channels: { 'presence-empty': { user_count: 0, subscription_count: 0 }, empty: { subscription_count: 0 } } });
});

test('data given as a JSON object (not a string) is delivered as its compact JSON string', async () => {
  const c = await client();
  await subscribe(c, 'objdata');
  const res = await signedRequest(server, app, {
    path: '/events',
    body: { name: 'obj', channels: ['objdata'], data: { a: [1, 2], b: 'x' } },
  });
  assert.equal(res.status, 200);
  assert.deepEqual(res.json, {});
  await waitFor(() => eventsOf(c, 'objdata', 'obj').length === 1, 3000, 'event');
  // pusher-js JSON-parses string data, so the object arrives intact.
  assert.deepEqual(eventsOf(c, 'objdata', 'obj')[0].data, { a: [1, 2], b: 'x' });
});

test('a single "channel" string is accepted like "channels" (pusher-php-server style)', async () => {
  const c = await client();
  await subscribe(c, 'single');
  const res = await signedRequest(server, app, {
    path: '/events',
    body: { name: 'php-style', channel: 'single', data: '{"ok":true}' },
  });
  assert.equal(res.status, 200);
  assert.deepEqual(res.json, {});
  await waitFor(() => eventsOf(c, 'single', 'php-style').length === 1, 3000, 'event');
  assert.deepEqual(eventsOf(c, 'single', 'php-style')[0].data, { ok: true });
});

test('trigger on a private-encrypted channel (SDK-encrypted) is decrypted by a pusher-js subscriber', async () => {
  const masterKey = Buffer.alloc(32, 7).toString('base64');
  const encRest = restClient(server, app, { encryptionMasterKeyBase64: masterKey });
  const c = await connectClient(server, app, { rest: encRest });
  clients.push(c);
  await subscribe(c, 'private-encrypted-vault');
  assert.deepEqual(await sdkJson(encRest.trigger('private-encrypted-vault', 'secret', { pin: 1234 })), {});
  await waitFor(() => eventsOf(c, 'private-encrypted-vault', 'secret').length === 1, 3000, 'decrypted event');
  assert.deepEqual(eventsOf(c, 'private-encrypted-vault', 'secret')[0].data, { pin: 1234 });
});

test('sendToUser reaches a pusher-js client signed in as that user', async () => {
  const c = await client({ user: { id: 'user-77', user_info: { name: 'Grace' } } });
  await signin(c);
  const got = [];
  c.user.bind('private-note', (data) => got.push(data));
  const res = await rest.sendToUser('user-77', 'private-note', { text: 'hi' });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {});
  await waitFor(() => got.length === 1, 3000, 'server-to-user event');
  assert.deepEqual(got[0], { text: 'hi' });
});

test('sendToUser does not reach a client signed in as another user', async () => {
  const target = await client({ user: { id: 'user-a' } });
  const bystander = await client({ user: { id: 'user-b' } });
  await signin(target);
  await signin(bystander);
  const gotTarget = [], gotBystander = [];
  target.user.bind('note', (d) => gotTarget.push(d));
  bystander.user.bind('note', (d) => gotBystander.push(d));
  await sdkJson(rest.sendToUser('user-a', 'note', 'one'));
  await sdkJson(rest.sendToUser('user-b', 'note', 'two'));
  await waitFor(() => gotTarget.length === 1 && gotBystander.length === 1, 3000, 'both deliveries');
  assert.deepEqual(gotTarget, ['one']);
  assert.deepEqual(gotBystander, ['two']);
});

test('terminateUserConnections closes every socket of that user with 4009 and answers {}', async () => {
  const s1 = await client({ user: { id: 'doomed' } });
  const s2 = await client({ user: { id: 'doomed' } });
  const survivor = await client({ user: { id: 'safe' } });
  for (const c of [s1, s2, survivor]) await signin(c);
  const res = await rest.terminateUserConnections('doomed');
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {});
  for (const c of [s1, s2]) {
    await waitFor(() => c.errors.some((e) => e?.data?.code === 4009), 3000, '4009 on the terminated client');
    // 4000-4099 means "refused": pusher-js must not reconnect on its own.
    await waitFor(() => c.connection.state === 'disconnected', 3000, 'terminated client disconnected');
  }
  assert.equal(survivor.connection.state, 'connected');
  assert.equal(survivor.errors.length, 0);
});

test('terminateUserConnections sends pusher:error 4009 then a WebSocket close frame with code 4009', async () => {
  const ws = new WebSocket(`ws://${server.host}:${server.port}/app/${app.key}?protocol=7&client=js&version=8.4.0`);
  const frames = [];
  const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  ws.on('message', (m) => {
    const f = JSON.parse(m);
    frames.push(f);
    if (f.event === 'pusher:connection_established') {
      const auth = rest.authenticateUser(JSON.parse(f.data).socket_id, { id: 'raw-user' });
      ws.send(JSON.stringify({ event: 'pusher:signin', data: auth }));
    }
  });
  await waitFor(() => frames.some((f) => f.event === 'pusher:signin_success'), 3000, 'signin_success');
  assert.deepEqual(await sdkJson(rest.terminateUserConnections('raw-user')), {});
  const { code } = await closed;
  assert.deepEqual(frames.at(-1), { event: 'pusher:error', data: { code: 4009, message: 'You got disconnected by the app' } });
  assert.equal(code, 4009);
});

test('terminateUserConnections for a user with no connections answers 200 {}', async () => {
  assert.deepEqual(await sdkJson(rest.terminateUserConnections('nobody-here')), {});
});
