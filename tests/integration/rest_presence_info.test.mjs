// info=subscription_count on presence channels (PROTOCOL.md §17.14): answered with the
// connection count when the app has --subscription-count, left out when it has not, and never
// a 400, on every route that takes `info`: trigger, batch_events, GET /channels and
// GET /channels/{name}. SDK examples ask for user_count,subscription_count together.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, createApp, startServer } from '../harness/index.mjs';
import { signedRequest, connectClient, subscribe } from './rest_helpers.mjs';

let server, counted, plain;
const clients = [];

/** Two users on three sockets in presence-room, plus one socket on public-room. */
async function fixture(app) {
  const alice = await connectClient(server, app, { presence: { user_id: 'alice' } });
  const bob = await connectClient(server, app, { presence: { user_id: 'bob' } });
  const bob2 = await connectClient(server, app, { presence: { user_id: 'bob' } });
  clients.push(alice, bob, bob2);
  for (const c of [alice, bob, bob2]) await subscribe(c, 'presence-room');
  await subscribe(alice, 'public-room');
}

before(async () => {
  const db = createDatabase();
  counted = createApp(db, ['--subscription-count'], 'counted');
  plain = createApp(db, [], 'plain');
  server = await startServer({ dbUrl: db });
  await fixture(counted);
  await fixture(plain);
});

after(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});

async function ok(app, opts) {
  const res = await signedRequest(server, app, opts);
  assert.equal(res.status, 200, res.text);
  return res.json;
}

test('trigger info=user_count,subscription_count on a presence channel answers both', async () => {
  const body = await ok(counted, { path: '/events', body: { name: 'e', channels: ['presence-room', 'public-room'], data: '{}', info: 'user_count,subscription_count' } });
  assert.deepEqual(body, { channels: { 'presence-room': { user_count: 2, subscription_count: 3 }, 'public-room': { subscription_count: 1 } } });
});

test('trigger info=subscription_count alone on a presence channel counts connections', async () => {
  const body = await ok(counted, { path: '/events', body: { name: 'e', channel: 'presence-room', data: '{}', info: 'subscription_count' } });
  assert.deepEqual(body, { channels: { 'presence-room': { subscription_count: 3 } } });
});

test('batch_events info on a presence channel answers both counts', async () => {
  const body = await ok(counted, { path: '/batch_events', body: { batch: [
    { channel: 'presence-room', name: 'e', data: '1', info: 'user_count,subscription_count' },
    { channel: 'presence-room', name: 'e', data: '2', info: 'subscription_count' },
  ] } });
  assert.deepEqual(body, { batch: [{ user_count: 2, subscription_count: 3 }, { subscription_count: 3 }] });
});

test('GET /channels/{presence}?info=subscription_count counts connections instead of failing', async () => {
  assert.deepEqual(await ok(counted, { path: '/channels/presence-room', params: { info: 'subscription_count' } }),
    { occupied: true, subscription_count: 3 });
});

test('GET /channels/{presence}?info=user_count,subscription_count answers both', async () => {
  assert.deepEqual(await ok(counted, { path: '/channels/presence-room', params: { info: 'user_count,subscription_count' } }),
    { occupied: true, user_count: 2, subscription_count: 3 });
});

test('GET /channels/{unoccupied presence}?info=user_count,subscription_count answers zeros', async () => {
  assert.deepEqual(await ok(counted, { path: '/channels/presence-empty', params: { info: 'user_count,subscription_count' } }),
    { occupied: false, user_count: 0, subscription_count: 0 });
});

test('GET /channels?filter_by_prefix=presence-&info=user_count,subscription_count answers both', async () => {
  assert.deepEqual(await ok(counted, { path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count,subscription_count' } }),
    { channels: { 'presence-room': { user_count: 2, subscription_count: 3 } } });
});

test('GET /channels?info=subscription_count counts presence channels too', async () => {
  assert.deepEqual(await ok(counted, { path: '/channels', params: { info: 'subscription_count' } }),
    { channels: { 'presence-room': { subscription_count: 3 }, 'public-room': { subscription_count: 1 } } });
});

test('without --subscription-count the attribute is left out on presence channels, never a 400', async () => {
  assert.deepEqual(await ok(plain, { path: '/channels/presence-room', params: { info: 'user_count,subscription_count' } }),
    { occupied: true, user_count: 2 });
  assert.deepEqual(await ok(plain, { path: '/channels/presence-room', params: { info: 'subscription_count' } }),
    { occupied: true });
  assert.deepEqual(await ok(plain, { path: '/events', body: { name: 'e', channel: 'presence-room', data: '{}', info: 'user_count,subscription_count' } }),
    { channels: { 'presence-room': { user_count: 2 } } });
  assert.deepEqual(await ok(plain, { path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count,subscription_count' } }),
    { channels: { 'presence-room': { user_count: 2 } } });
});
