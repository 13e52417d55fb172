// socket_id on trigger and batch_events (PROTOCOL.md §14.3-§14.4): Pusher's digits.digits,
// at most 31 characters (RT_SOCKET_ID_MAX, the longest id a node hands out). A longer one used
// to be answered 200 while the cluster fan-out silently dropped the event for other nodes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, createApp, startServer, waitFor } from '../harness/index.mjs';
import { signedRequest, connectClient, subscribe, eventsOf, restClient, flush } from './rest_helpers.mjs';

let server, app, rest;
const clients = [];

before(async () => {
  const db = createDatabase();
  app = createApp(db, []);
  server = await startServer({ dbUrl: db });
  rest = restClient(server, app);
});

after(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});

/** digits.digits of exactly n characters. */
const socketIdOfLength = (n) => `${'1'.repeat(n - 4)}.${'2'.repeat(3)}`;

function assertError(res, status, message) {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers['content-type'], /^application\/json/);
  assert.deepEqual(res.json, { error: message });
}

test('trigger with a 40-character digits.digits socket_id is 400 and delivers nothing', async () => {
  const c = await connectClient(server, app);
  clients.push(c);
  await subscribe(c, 'sid-long');
  const sid = socketIdOfLength(40);
  assert.match(sid, /^\d+\.\d+$/);
  assertError(await signedRequest(server, app, { path: '/events', body: { name: 'e', channels: ['sid-long'], data: 'x', socket_id: sid } }),
    400, 'Invalid socket_id: at most 31 characters (got 40)');
  await flush(rest, [c], 'sid-long');
  assert.deepEqual(eventsOf(c, 'sid-long', 'e'), []);
});

test('trigger with a 31-character socket_id (the longest a node hands out) is accepted', async () => {
  const res = await signedRequest(server, app, { path: '/events', body: { name: 'e', channels: ['sid-ok'], data: 'x', socket_id: socketIdOfLength(31) } });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, {});
});

test('trigger with a 32-character socket_id is 400', async () => {
  assertError(await signedRequest(server, app, { path: '/events', body: { name: 'e', channels: ['sid-ok'], data: 'x', socket_id: socketIdOfLength(32) } }),
    400, 'Invalid socket_id: at most 31 characters (got 32)');
});

test('socket_ids that are not digits.digits are 400', async () => {
  for (const sid of ['1.2.3', '.12', '12.', '12', '1a.2', '-1.2', ' 1.2', '', 12.5]) {
    assertError(await signedRequest(server, app, { path: '/events', body: { name: 'e', channels: ['sid-ok'], data: 'x', socket_id: sid } }),
      400, 'Invalid socket_id: expected digits.digits');
  }
});

test('batch_events with a long socket_id in one entry is 400 naming the entry, and publishes nothing', async () => {
  const c = await connectClient(server, app);
  clients.push(c);
  await subscribe(c, 'sid-batch');
  const res = await signedRequest(server, app, {
    path: '/batch_events',
    body: { batch: [
      { channel: 'sid-batch', name: 'first', data: '1' },
      { channel: 'sid-batch', name: 'second', data: '2', socket_id: socketIdOfLength(40) },
    ] },
  });
  assertError(res, 400, 'Invalid socket_id: at most 31 characters (got 40) (batch[1])');
  await flush(rest, [c], 'sid-batch');
  assert.deepEqual(eventsOf(c, 'sid-batch', 'first'), []);
});

test('a real socket_id still excludes that socket in a batch', async () => {
  const excluded = await connectClient(server, app);
  const other = await connectClient(server, app);
  clients.push(excluded, other);
  await subscribe(excluded, 'sid-real');
  await subscribe(other, 'sid-real');
  const res = await signedRequest(server, app, {
    path: '/batch_events',
    body: { batch: [{ channel: 'sid-real', name: 'e', data: '1', socket_id: excluded.connection.socket_id }] },
  });
  assert.equal(res.status, 200, res.text);
  await waitFor(() => eventsOf(other, 'sid-real', 'e').length === 1, 3000, 'delivery to the other socket');
  await flush(rest, [excluded], 'sid-real');
  assert.deepEqual(eventsOf(excluded, 'sid-real', 'e'), []);
});
