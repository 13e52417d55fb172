// Live rtserver: signin through a user-authentication endpoint, server-to-user events sent
// with pusher.sendToUser, watchlist online/offline events, presence via the signed-in user.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLive, nextEvent, waitForState } from './helpers.mjs';

let live;
before(async () => (live = await startLive()));
after(() => live && live.stop());

test('signin posts socket_id only and ends with user.user_data set', async () => {
  const client = live.client('u1');
  client.signin();
  const userData = await nextEvent(client.user, 'pusher:signin_success');
  assert.deepEqual(userData, { id: 'u1', user_info: { name: 'User u1' } });
  assert.deepEqual(client.user.user_data, userData);
  const request = live.auth.requests.find((r) => r.path === '/user-auth');
  assert.equal(request.body, `socket_id=${client.connection.socket_id}`);
  assert.equal(request.contentType, 'application/x-www-form-urlencoded');
  client.disconnect();
});

test('signin() before the connection is up signs in once connected', async () => {
  const client = live.client('u2');
  client.signin();
  await nextEvent(client.user, 'pusher:signin_success');
  await waitForState(client, 'connected');
  client.disconnect();
});

test('pusher.sendToUser reaches user.bind on every socket of that user', async () => {
  const a = live.client('u3');
  const b = live.client('u3');
  a.signin();
  b.signin();
  await Promise.all([nextEvent(a.user, 'pusher:signin_success'), nextEvent(b.user, 'pusher:signin_success')]);
  // The server-to-user subscription is sent right after signin_success; give it a moment.
  await new Promise((r) => setTimeout(r, 100));
  const gotA = nextEvent(a.user, 'notice');
  const gotB = nextEvent(b.user, 'notice');
  await live.pusher.sendToUser('u3', 'notice', { text: 'hello u3' });
  assert.deepEqual(await gotA, { text: 'hello u3' });
  assert.deepEqual(await gotB, { text: 'hello u3' });
  a.disconnect();
  b.disconnect();
});

test('a failing user-authentication endpoint reports pusher:signin_error', async () => {
  const client = live.client('u4', { userAuthentication: { endpoint: `${live.auth.base}/deny` } });
  client.signin();
  const error = await nextEvent(client.user, 'pusher:signin_error');
  assert.equal(error.status, 403);
  assert.equal(client.connection.state, 'connected');
  client.disconnect();
});

test('watchlist: online when a watched user signs in, offline when they leave', async () => {
  const watcher = live.client('w1', { headers: { 'X-Watchlist': 'w2' } });
  const online = nextEvent(watcher.user.watchlist, 'online', 8000);
  watcher.signin();
  await nextEvent(watcher.user, 'pusher:signin_success');
  const watched = live.client('w2');
  watched.signin();
  await nextEvent(watched.user, 'pusher:signin_success');
  assert.deepEqual((await online).user_ids, ['w2']);
  const offline = nextEvent(watcher.user.watchlist, 'offline', 8000);
  watched.disconnect();
  assert.deepEqual((await offline).user_ids, ['w2']);
  watcher.disconnect();
});
