// POST /apps/{id}/batch_events through the real `pusher` SDK (PROTOCOL.md §14.4).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, createApp, startServer, waitFor } from '../harness/index.mjs';
import {
  restClient, sdkJson, sdkError, connectClient, subscribe, eventsOf, flush, signedRequest,
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
  app = createApp(db, ['--subscription-count']);
  server = await startServer({ dbUrl: db });
  rest = restClient(server, app);
});

after(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});

test('triggerBatch without info answers 200 {} and delivers every event to its channel', async () => {
  const c = await client();
  await subscribe(c, 'batch-a');
  await subscribe(c, 'private-batch-b');
  const res = await rest.triggerBatch([
    { channel: 'batch-a', name: 'first', data: { n: 1 } },
    { channel: 'private-batch-b', name: 'second', data: 'two' },
    { channel: 'batch-a', name: 'third', data: { n: 3 } },
  ]);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  assert.deepEqual(await res.json(), {});
  await waitFor(() => c.received.length >= 3, 3000, 'three events');
  assert.deepEqual(eventsOf(c, 'batch-a', 'first').map((e) => e.data), [{ n: 1 }]);
  assert.deepEqual(eventsOf(c, 'private-batch-b', 'second').map((e) => e.data), ['two']);
  assert.deepEqual(eventsOf(c, 'batch-a', 'third').map((e) => e.data), [{ n: 3 }]);
});

test('events of one batch on one channel arrive in batch order', async () => {
  const c = await client();
  await subscribe(c, 'batch-order');
  await sdkJson(rest.triggerBatch(Array.from({ length: 10 }, (_, i) => ({ channel: 'batch-order', name: 'seq', data: `s${i}` }))));
  await waitFor(() => eventsOf(c, 'batch-order', 'seq').length === 10, 3000, 'ten events');
  assert.deepEqual(eventsOf(c, 'batch-order', 'seq').map((e) => e.data), Array.from({ length: 10 }, (_, i) => `s${i}`));
});

test('triggerBatch with info answers an index-aligned batch array of attributes', async () => {
  const p1 = await client({ presence: { user_id: 'p1' } });
  const p2 = await client({ presence: { user_id: 'p2' } });
  await subscribe(p1, 'presence-batch');
  await subscribe(p2, 'presence-batch');
  await subscribe(p1, 'batch-count');
  const body = await sdkJson(rest.triggerBatch([
    { channel: 'presence-batch', name: 'e', data: '1', info: 'user_count' },
    { channel: 'batch-count', name: 'e', data: '2' },
    { channel: 'batch-count', name: 'e', data: '3', info: 'subscription_count' },
  ]));
  assert.deepEqual(body, { batch: [{ user_count: 2 }, {}, { subscription_count: 1 }] });
});

test('triggerBatch honours socket_id per event: the excluded socket misses only that event', async () => {
  const excluded = await client();
  const other = await client();
  await subscribe(excluded, 'batch-excl');
  await subscribe(other, 'batch-excl');
  const sid = excluded.connection.socket_id;
  await sdkJson(rest.triggerBatch([
    { channel: 'batch-excl', name: 'skip-me', data: 'x', socket_id: sid },
    { channel: 'batch-excl', name: 'for-all', data: 'y' },
  ]));
  await waitFor(() => eventsOf(other, 'batch-excl', 'for-all').length === 1, 3000, 'other gets both');
  assert.equal(eventsOf(other, 'batch-excl', 'skip-me').length, 1);
  await waitFor(() => eventsOf(excluded, 'batch-excl', 'for-all').length === 1, 3000, 'excluded gets the second');
  await flush(rest, [excluded], 'batch-excl');
  assert.equal(eventsOf(excluded, 'batch-excl', 'skip-me').length, 0);
});

test('a batch entry whose data is a JSON object is delivered as its compact JSON string', async () => {
  const c = await client();
  await subscribe(c, 'batch-obj');
  const res = await signedRequest(server, app, {
    path: '/batch_events',
    body: { batch: [{ channel: 'batch-obj', name: 'obj', data: { nested: { ok: true } } }] },
  });
  assert.equal(res.status, 200);
  assert.deepEqual(res.json, {});
  await waitFor(() => eventsOf(c, 'batch-obj', 'obj').length === 1, 3000, 'event');
  assert.deepEqual(eventsOf(c, 'batch-obj', 'obj')[0].data, { nested: { ok: true } });
});

test('a batch of 11 events is refused with 400 and nothing is delivered', async () => {
  const c = await client();
  await subscribe(c, 'batch-big');
  const err = await sdkError(rest.triggerBatch(Array.from({ length: 11 }, () => ({ channel: 'batch-big', name: 'e', data: 'x' }))));
  assert.equal(err.status, 400);
  assert.deepEqual(err.json, { error: 'Batch too large: at most 10 events' });
  await flush(rest, [c], 'batch-big');
  assert.equal(eventsOf(c, 'batch-big', 'e').length, 0);
});

test('a batch with one invalid event publishes none of them (validate all first)', async () => {
  const c = await client();
  await subscribe(c, 'batch-atomic');
  const res = await signedRequest(server, app, {
    path: '/batch_events',
    body: { batch: [
      { channel: 'batch-atomic', name: 'good', data: 'x' },
      { channel: 'bad channel!', name: 'bad', data: 'y' },
    ] },
  });
  assert.equal(res.status, 400);
  assert.deepEqual(res.json, { error: 'Invalid channel name "bad channel!" (batch[1])' });
  await flush(rest, [c], 'batch-atomic');
  assert.equal(eventsOf(c, 'batch-atomic', 'good').length, 0);
});

test('a batch entry with "channels" instead of "channel" is refused with 400', async () => {
  const res = await signedRequest(server, app, {
    path: '/batch_events',
    body: { batch: [{ channels: ['a'], name: 'e', data: 'x' }] },
  });
  assert.equal(res.status, 400);
  assert.deepEqual(res.json, { error: 'Batch events take one "channel" each (batch[0])' });
});

test('a batch body that is not {"batch":[...]} is refused with 400', async () => {
  const res = await signedRequest(server, app, { path: '/batch_events', body: '[{"channel":"a"}]' });
  assert.equal(res.status, 400);
  assert.deepEqual(res.json, { error: 'Invalid JSON body: expected {"batch":[...]}' });
});
