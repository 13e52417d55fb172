// GET /apps/{id}/channels, /channels/{name}, /channels/{name}/users through the real `pusher`
// SDK (PROTOCOL.md §14.5-§14.7, §8).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, createApp, startServer, waitFor } from '../harness/index.mjs';
import { restClient, sdkJson, sdkError, connectClient, subscribe, signedRequest } from './rest_helpers.mjs';

let server, app, rest;
const clients = [];
const client = async (opts) => {
  const c = await connectClient(server, app, opts);
  clients.push(c);
  return c;
};
const get = (path, params) => sdkJson(rest.get({ path, params }));

before(async () => {
  const db = createDatabase();
  app = createApp(db, ['--subscription-count']);
  server = await startServer({ dbUrl: db });
  rest = restClient(server, app);
  // Fixture: three public channels, one private, one presence with two users (three sockets).
  const a = await client({ presence: { user_id: 'alice', user_info: { name: 'Alice' } } });
  const b = await client({ presence: { user_id: 'bob' } });
  const b2 = await client({ presence: { user_id: 'bob' } });
  await subscribe(a, 'news-sport');
  await subscribe(b, 'news-sport');
  await subscribe(a, 'news-weather');
  await subscribe(a, 'other');
  await subscribe(a, 'private-room');
  for (const c of [a, b, b2]) await subscribe(c, 'presence-lobby');
});

after(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});

test('GET /channels lists every occupied channel with an empty attribute object', async () => {
  assert.deepEqual(await get('/channels'), {
    channels: { 'news-sport': {}, 'news-weather': {}, other: {}, 'private-room': {}, 'presence-lobby': {} },
  });
});

test('GET /channels with filter_by_prefix lists only matching channels', async () => {
  assert.deepEqual(await get('/channels', { filter_by_prefix: 'news-' }), {
    channels: { 'news-sport': {}, 'news-weather': {} },
  });
});

test('GET /channels with a prefix that matches nothing answers {"channels":{}}', async () => {
  assert.deepEqual(await get('/channels', { filter_by_prefix: 'nothing-' }), { channels: {} });
});

test('GET /channels?filter_by_prefix=presence-&info=user_count reports unique users', async () => {
  assert.deepEqual(await get('/channels', { filter_by_prefix: 'presence-', info: 'user_count' }), {
    channels: { 'presence-lobby': { user_count: 2 } },
  });
});

test('GET /channels with info=user_count but no presence- prefix is refused with 400', async () => {
  const err = await sdkError(rest.get({ path: '/channels', params: { info: 'user_count' } }));
  assert.equal(err.status, 400);
  assert.deepEqual(err.json, { error: 'info=user_count needs filter_by_prefix=presence- (presence channels only)' });
});

test('GET /channels drops a channel once its last subscriber leaves', async () => {
  const c = await client();
  await subscribe(c, 'ephemeral');
  assert.ok('ephemeral' in (await get('/channels', { filter_by_prefix: 'ephemeral' })).channels);
  c.unsubscribe('ephemeral');
  await waitFor(async () => !('ephemeral' in (await get('/channels', { filter_by_prefix: 'ephemeral' })).channels),
    3000, 'channel to disappear');
});

test('GET /channels/{name} of an occupied channel answers {"occupied":true}', async () => {
  assert.deepEqual(await get('/channels/news-weather'), { occupied: true });
});

test('GET /channels/{name} of an unknown channel answers {"occupied":false}', async () => {
  assert.deepEqual(await get('/channels/never-used'), { occupied: false });
});

test('GET /channels/{name}?info=subscription_count counts connections', async () => {
  assert.deepEqual(await get('/channels/news-sport', { info: 'subscription_count' }), { occupied: true, subscription_count: 2 });
});

test('GET /channels/{presence}?info=user_count counts unique users, not sockets', async () => {
  assert.deepEqual(await get('/channels/presence-lobby', { info: 'user_count' }), { occupied: true, user_count: 2 });
});

test('GET /channels/{public}?info=user_count is refused with 400', async () => {
  const err = await sdkError(rest.get({ path: '/channels/news-sport', params: { info: 'user_count' } }));
  assert.equal(err.status, 400);
  assert.deepEqual(err.json, { error: 'info=user_count is only available for presence channels' });
});

test('GET /channels/{name} with an unknown info attribute is refused with 400', async () => {
  const err = await sdkError(rest.get({ path: '/channels/news-sport', params: { info: 'bogus' } }));
  assert.equal(err.status, 400);
  assert.deepEqual(err.json, { error: 'info may be user_count, subscription_count or cache' });
});

test('GET /channels/{invalid name} is refused with 400', async () => {
  const res = await signedRequest(server, app, { path: '/channels/bad:name' });
  assert.equal(res.status, 400);
  assert.deepEqual(res.json, { error: 'Invalid channel name' });
});

test('GET /channels/{cache channel}?info=cache returns the last event and its ttl', async () => {
  await sdkJson(rest.trigger('cache-prices', 'price', { eur: 1 }));
  await sdkJson(rest.trigger('cache-prices', 'price', { eur: 2 }));
  const body = await get('/channels/cache-prices', { info: 'cache' });
  assert.equal(body.occupied, false);
  assert.equal(body.cache.data, '{"eur":2}');
  assert.equal(body.cache.event, 'price');
  assert.ok(Number.isInteger(body.cache.ttl) && body.cache.ttl > 1700 && body.cache.ttl <= 1800, `ttl ${body.cache.ttl}`);
});

test('GET /channels/{empty cache channel}?info=cache has no cache member', async () => {
  assert.deepEqual(await get('/channels/cache-empty', { info: 'cache' }), { occupied: false });
});

test('GET /channels/{presence}/users lists each user once', async () => {
  const body = await get('/channels/presence-lobby/users');
  assert.deepEqual(body.users.map((u) => u.id).sort(), ['alice', 'bob']);
  assert.deepEqual(body.users.sort((x, y) => (x.id < y.id ? -1 : 1)), [{ id: 'alice' }, { id: 'bob' }]);
});

test('GET /channels/{unoccupied presence}/users answers {"users":[]}', async () => {
  assert.deepEqual(await get('/channels/presence-nobody/users'), { users: [] });
});

test('GET /channels/{non-presence}/users is refused with 400', async () => {
  const err = await sdkError(rest.get({ path: '/channels/news-sport/users' }));
  assert.equal(err.status, 400);
  assert.deepEqual(err.json, { error: 'Users can only be listed for presence channels' });
});

test('the signature is checked over decoded query values (percent-encoded filter_by_prefix)', async () => {
  // = @ , ; are valid in channel names and are percent-encoded by encodeURIComponent.
  const c = await client();
  await subscribe(c, 'enc=@,;.x');
  const res = await signedRequest(server, app, { path: '/channels', params: { filter_by_prefix: 'enc=@,;' } });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, { channels: { 'enc=@,;.x': {} } });
});

test('the signature is checked over decoded values with spaces, &, +, %, / and UTF-8', async () => {
  const res = await signedRequest(server, app, { path: '/channels', params: { filter_by_prefix: 'a b&c=d+e%f/g?é' } });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, { channels: {} });
});

test('the `pusher` SDK signs raw (unencoded) values and the server accepts them', async () => {
  // pusher-http-node puts values in the URL unescaped; the server must decode what it gets.
  assert.deepEqual(await get('/channels', { filter_by_prefix: 'enc=@,;' }), { channels: { 'enc=@,;.x': {} } });
});
