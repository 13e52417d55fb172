// Live rtserver: public and private subscriptions, both auth styles, auth failures,
// unsubscribe, and events published through the REST API with the `pusher` npm SDK.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startLive, waitForState, nextEvent, sleep } from './helpers.mjs';

let live;
before(async () => (live = await startLive()));
after(() => live && live.stop());

test('public channel: subscription_succeeded, then a REST event arrives with its data parsed', async () => {
  const client = live.client();
  const channel = client.subscribe('news');
  await nextEvent(channel, 'pusher:subscription_succeeded');
  assert.equal(channel.subscribed, true);
  const got = nextEvent(channel, 'headline');
  await live.pusher.trigger('news', 'headline', { title: 'Hello' });
  assert.deepEqual(await got, { title: 'Hello' });
  client.disconnect();
});

test('plain-string event data is delivered as that string', async () => {
  const client = live.client();
  const channel = client.subscribe('raw');
  await nextEvent(channel, 'pusher:subscription_succeeded');
  const got = nextEvent(channel, 'text');
  await live.pusher.trigger('raw', 'text', 'just words');
  assert.equal(await got, 'just words');
  client.disconnect();
});

test('global bind and bind_global see channel events', async () => {
  const client = live.client();
  const seen = [];
  client.bind_global((event, data) => event === 'tick' && seen.push(data));
  const global = nextEvent(client, 'tick');
  const channel = client.subscribe('ticks');
  await nextEvent(channel, 'pusher:subscription_succeeded');
  await live.pusher.trigger('ticks', 'tick', { n: 1 });
  assert.deepEqual(await global, { n: 1 });
  assert.deepEqual(seen, [{ n: 1 }]);
  client.disconnect();
});

test('private channel authorized by an HTTP endpoint (pusher SDK authorizeChannel)', async () => {
  const client = live.client();
  const channel = client.subscribe('private-orders');
  await nextEvent(channel, 'pusher:subscription_succeeded');
  const request = live.auth.requests.find((r) => r.body.includes('private-orders'));
  assert.equal(request.body, `socket_id=${client.connection.socket_id}&channel_name=private-orders`);
  const got = nextEvent(channel, 'order.shipped');
  await live.pusher.trigger('private-orders', 'order.shipped', { id: 7 });
  assert.deepEqual(await got, { id: 7 });
  client.disconnect();
});

test('private channel authorized by a customHandler signing HMAC-SHA256 (§6)', async () => {
  const { key, secret } = live.app;
  const customHandler = ({ socketId, channelName }, callback) => {
    const signature = createHmac('sha256', secret).update(`${socketId}:${channelName}`).digest('hex');
    callback(null, { auth: `${key}:${signature}` });
  };
  const client = live.client(null, { channelAuthorization: { customHandler } });
  const channel = client.subscribe('private-custom');
  await nextEvent(channel, 'pusher:subscription_succeeded');
  const got = nextEvent(channel, 'ping');
  await live.pusher.trigger('private-custom', 'ping', { ok: true });
  assert.deepEqual(await got, { ok: true });
  client.disconnect();
});

test('a bad signature is refused by the server as a subscription error, connection stays up', async () => {
  const customHandler = (_params, callback) => callback(null, { auth: `${live.app.key}:${'0'.repeat(64)}` });
  const client = live.client(null, { channelAuthorization: { customHandler } });
  const channel = client.subscribe('private-forged');
  const error = await Promise.race([
    nextEvent(channel, 'pusher:subscription_error'),
    nextEvent(client.connection, 'error').then((e) => ({ viaConnectionError: e })),
  ]);
  assert.ok(error, 'the server reported the refusal');
  assert.equal(channel.subscribed, false);
  await sleep(100);
  assert.equal(client.connection.state, 'connected');
  client.disconnect();
});

test('an endpoint answering 403 gives pusher:subscription_error {type, error, status}', async () => {
  const client = live.client(null, { channelAuthorization: { endpoint: `${live.auth.base}/deny` } });
  const error = await nextEvent(client.subscribe('private-denied'), 'pusher:subscription_error');
  assert.equal(error.type, 'AuthError');
  assert.equal(error.status, 403);
  assert.match(error.error, /403/);
  client.disconnect();
});

test('after unsubscribe no more events arrive and channel() forgets the channel', async () => {
  const client = live.client();
  const channel = client.subscribe('quiet');
  await nextEvent(channel, 'pusher:subscription_succeeded');
  const received = [];
  channel.bind('noise', (d) => received.push(d));
  client.unsubscribe('quiet');
  assert.equal(client.channel('quiet'), undefined);
  await sleep(100);
  await live.pusher.trigger('quiet', 'noise', { n: 1 });
  await sleep(300);
  assert.deepEqual(received, []);
  client.disconnect();
});

test('subscribe before the connection is up is sent once connected', async () => {
  const client = live.client();
  assert.equal(client.connection.state, 'initialized');
  const channel = client.subscribe('early');
  await nextEvent(channel, 'pusher:subscription_succeeded');
  await waitForState(client, 'connected');
  assert.equal(client.allChannels().length, 1);
  client.disconnect();
});

test('cache channel: pusher:cache_miss when empty, the last event on a later subscribe', async () => {
  const first = live.client();
  const miss = nextEvent(first.subscribe('cache-weather'), 'pusher:cache_miss');
  await miss;
  await live.pusher.trigger('cache-weather', 'forecast', { sky: 'clear' });
  const second = live.client();
  const cached = await nextEvent(second.subscribe('cache-weather'), 'forecast');
  assert.deepEqual(cached, { sky: 'clear' });
  first.disconnect();
  second.disconnect();
});
