// User authentication (PROTOCOL.md §10, §12): pusher:signin, server-to-user events,
// watchlist online/offline events and terminate_connections, with pusher-js `signin()` and
// the `pusher` SDK's authenticateUser / sendToUser / terminateUserConnections.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createDatabase, createApp, startServer } from '../harness/index.mjs';
import {
  RawClient, alive, connected, pusherClient, restClient, sleep, waitFor, wsUrl,
} from './helpers.mjs';

let db, server, app, noAuthApp, rest;
const clients = [];
const keep = (c) => (clients.push(c), c);
let seq = 0;
const uid = (p) => `${p}${Date.now().toString(36)}${++seq}`;

before(async () => {
  db = createDatabase();
  app = createApp(db, ['--user-auth', '--client-events']);
  noAuthApp = createApp(db, [], 'no-user-auth');
  server = await startServer({ dbUrl: db });
  rest = restClient(server, app);
});

after(async () => {
  for (const c of clients) (c.disconnect ? c.disconnect() : c.close());
  await server?.stop();
});

const sign = (secret, text) => createHmac('sha256', secret).update(text).digest('hex');
const raw = async (a = app) => keep(await RawClient.connect(wsUrl(server, a.key)));
function signinFrame(c, user, a = app) {
  const user_data = JSON.stringify(user);
  return { event: 'pusher:signin', data: { auth: `${a.key}:${sign(a.secret, `${c.socketId}::user::${user_data}`)}`, user_data } };
}
async function rawSignin(c, user, a = app) {
  const from = c.messages.length;
  c.send(signinFrame(c, user, a));
  return c.next((m) => m.event === 'pusher:signin_success' || m.event === 'pusher:error', 3000, from);
}
async function jsSignin(user, extra = {}) {
  const p = keep(pusherClient(server, app, { user, ...extra }));
  await connected(p);
  p.signin();
  await waitFor(() => p.user.user_data, 5000, 'pusher-js signin');
  return p;
}

describe('signin', () => {
  test('a valid pusher:signin is answered with pusher:signin_success {user_data} (the same string)', async () => {
    const c = await raw();
    const user = { id: uid('ada'), user_info: { name: 'Ada' } };
    const m = await rawSignin(c, user);
    assert.deepEqual(m, { event: 'pusher:signin_success', data: { user_data: JSON.stringify(user) } });
    assert.equal(c.isClosed, false);
  });

  test('pusher-js signs in with pusher.authenticateUser and exposes user_data', async () => {
    const id = uid('js');
    const p = await jsSignin({ id, user_info: { n: 1 } });
    assert.deepEqual(p.user.user_data, { id, user_info: { n: 1 } });
    assert.equal(p.connection.state, 'connected');
  });

  test('a bad signin signature: pusher:error 4009 then close 4009', async () => {
    const c = await raw();
    const from = c.messages.length;
    c.send({ event: 'pusher:signin', data: { auth: `${app.key}:${'0'.repeat(64)}`, user_data: JSON.stringify({ id: 'x' }) } });
    const closed = await Promise.race([c.closed, sleep(3000).then(() => null)]);
    assert.ok(closed, 'socket was not closed');
    assert.deepEqual(c.since(from), [{ event: 'pusher:error', data: { code: 4009, message: 'Invalid signature for pusher:signin' } }]);
    assert.equal(closed.code, 4009);
    assert.equal(closed.reason, 'Invalid signature for pusher:signin');
  });

  test('user_data without an id: pusher:error 4009 then close 4009', async () => {
    const c = await raw();
    const m = await rawSignin(c, { user_info: {} });
    assert.deepEqual(m, { event: 'pusher:error', data: { code: 4009, message: 'user_data.id must be a non-empty string of at most 128 characters [A-Za-z0-9_-=@,.;]' } });
    const closed = await Promise.race([c.closed, sleep(3000).then(() => null)]);
    assert.equal(closed?.code, 4009);
  });

  test('signin on an app without --user-auth: pusher:error 4009 then close 4009', async () => {
    const c = await raw(noAuthApp);
    const m = await rawSignin(c, { id: 'u' }, noAuthApp);
    assert.deepEqual(m, { event: 'pusher:error', data: { code: 4009, message: 'User authentication is not enabled for this app' } });
    const closed = await Promise.race([c.closed, sleep(3000).then(() => null)]);
    assert.equal(closed?.code, 4009);
  });

  test('signing in again as a different user on the same socket: close 4009', async () => {
    const c = await raw();
    assert.equal((await rawSignin(c, { id: uid('first') })).event, 'pusher:signin_success');
    const m = await rawSignin(c, { id: uid('second') });
    assert.deepEqual(m, { event: 'pusher:error', data: { code: 4009, message: 'Already signed in as a different user' } });
    const closed = await Promise.race([c.closed, sleep(3000).then(() => null)]);
    assert.equal(closed?.code, 4009);
  });

  test('a signed-in user can join a presence channel without channel_data', async () => {
    const c = await raw();
    const id = uid('pres');
    await rawSignin(c, { id, user_info: { via: 'signin' } });
    const ch = `presence-signed-${id}`;
    const m = await c.subscribe(ch, { auth: `${app.key}:${sign(app.secret, `${c.socketId}:${ch}`)}` });
    assert.equal(m.event, 'pusher_internal:subscription_succeeded');
    assert.deepEqual(JSON.parse(m.data).presence.hash, { [id]: { via: 'signin' } });
  });
});

describe('server-to-user', () => {
  test('pusher.sendToUser reaches every pusher-js socket signed in as that user', async () => {
    const id = uid('s2u');
    const p1 = await jsSignin({ id });
    const p2 = await jsSignin({ id });
    const got1 = [], got2 = [];
    p1.user.bind('notice', (d) => got1.push(d));
    p2.user.bind('notice', (d) => got2.push(d));
    await sleep(200); // let pusher-js finish its #server-to-user subscription
    await rest.sendToUser(id, 'notice', { text: 'hi' });
    await waitFor(() => got1.length && got2.length, 3000, 'server-to-user delivery');
    assert.deepEqual(got1, [{ text: 'hi' }]);
    assert.deepEqual(got2, [{ text: 'hi' }]);
  });

  test('the wire frame is {"event","channel":"#server-to-user-{id}","data"}', async () => {
    const c = await raw();
    const id = uid('wire');
    await rawSignin(c, { id });
    const from = c.messages.length;
    await rest.sendToUser(id, 'notice', 'payload');
    const m = await c.next((m) => m.event === 'notice', 3000, from);
    assert.deepEqual(m, { event: 'notice', channel: `#server-to-user-${id}`, data: 'payload' });
  });

  test('a socket signed in as that user may subscribe to its own #server-to-user channel', async () => {
    const c = await raw();
    const id = uid('own');
    await rawSignin(c, { id });
    const m = await c.subscribe(`#server-to-user-${id}`, { auth: '' });
    assert.deepEqual(m, { event: 'pusher_internal:subscription_succeeded', channel: `#server-to-user-${id}`, data: '{}' });
  });

  test('subscribing to another user\'s #server-to-user channel is refused with AuthError 403', async () => {
    const c = await raw();
    await rawSignin(c, { id: uid('mallory') });
    const ch = `#server-to-user-${uid('victim')}`;
    const m = await c.subscribe(ch, { auth: '' });
    assert.deepEqual(m, { event: 'pusher:subscription_error', channel: ch, data: { type: 'AuthError', error: 'Only a connection signed in as this user may subscribe', status: 403 } });
    await c.ping();
  });

  test('a socket that is not signed in cannot subscribe to #server-to-user channels', async () => {
    const c = await raw();
    const ch = `#server-to-user-${uid('anon')}`;
    const m = await c.subscribe(ch, { auth: '' });
    assert.equal(m.event, 'pusher:subscription_error');
    assert.equal(m.data.status, 403);
  });

  test('server-to-user events do not reach other users', async () => {
    const target = await raw();
    const other = await raw();
    const id = uid('target');
    await rawSignin(target, { id });
    await rawSignin(other, { id: uid('other') });
    const from = other.messages.length;
    await rest.sendToUser(id, 'private-note', 'x');
    await target.next((m) => m.event === 'private-note');
    await sleep(200);
    assert.deepEqual(other.since(from), []);
  });
});

describe('watchlist', () => {
  test('on signin the watcher gets the current online/offline state as pusher_internal:watchlist_events', async () => {
    const onlineId = uid('on');
    const offlineId = uid('off');
    const friend = await raw();
    await rawSignin(friend, { id: onlineId });
    const c = await raw();
    const from = c.messages.length;
    c.send(signinFrame(c, { id: uid('watcher'), watchlist: [onlineId, offlineId] }));
    const m = await c.next((m) => m.event === 'pusher_internal:watchlist_events', 3000, from);
    assert.equal(m.channel, undefined);
    assert.equal(typeof m.data, 'string');
    assert.deepEqual(JSON.parse(m.data), { events: [
      { name: 'online', user_ids: [onlineId] },
      { name: 'offline', user_ids: [offlineId] },
    ] });
  });

  test('pusher-js watchlist receives online when a watched user signs in and offline when their last socket closes', async () => {
    const friendId = uid('friend');
    const p = await jsSignin({ id: uid('w'), watchlist: [friendId] });
    const events = [];
    p.user.watchlist.bind('online', (e) => events.push(['online', e.user_ids]));
    p.user.watchlist.bind('offline', (e) => events.push(['offline', e.user_ids]));
    await sleep(200);
    events.length = 0;
    const f1 = await raw();
    await rawSignin(f1, { id: friendId });
    await waitFor(() => events.length >= 1, 3000, 'online event');
    assert.deepEqual(events, [['online', [friendId]]]);
    const f2 = await raw();
    await rawSignin(f2, { id: friendId });
    await sleep(300);
    assert.equal(events.length, 1, 'a second socket of the same user is not a new online');
    f1.close();
    await sleep(500);
    assert.equal(events.length, 1, 'still online through the second socket');
    f2.close();
    await waitFor(() => events.length >= 2, 6000, 'offline event');
    assert.deepEqual(events[1], ['offline', [friendId]]);
  });

  test('a watchlist of more than 100 ids: signin_success, then pusher:error 4302 without closing', async () => {
    const c = await raw();
    const ids = Array.from({ length: 120 }, (_, i) => `w${i}`);
    const from = c.messages.length;
    c.send(signinFrame(c, { id: uid('greedy'), watchlist: ids }));
    await c.next((m) => m.event === 'pusher_internal:watchlist_events', 3000, from);
    const seen = c.since(from);
    assert.deepEqual(seen[0].event, 'pusher:signin_success');
    assert.deepEqual(seen[1], { event: 'pusher:error', data: { code: 4302, message: 'Watchlist limit exceeded: only the first 100 ids are used' } });
    const state = JSON.parse(seen.find((m) => m.event === 'pusher_internal:watchlist_events').data);
    assert.deepEqual(state.events, [{ name: 'offline', user_ids: ids.slice(0, 100) }]);
    await sleep(200);
    assert.equal(c.isClosed, false);
    await c.ping();
  });

  test('exactly 100 watchlist ids are accepted without an error', async () => {
    const c = await raw();
    const ids = Array.from({ length: 100 }, (_, i) => `x${i}`);
    const from = c.messages.length;
    c.send(signinFrame(c, { id: uid('full'), watchlist: ids }));
    await c.next((m) => m.event === 'pusher_internal:watchlist_events', 3000, from);
    await sleep(200);
    assert.deepEqual(c.since(from).filter((m) => m.event === 'pusher:error'), []);
  });
});

describe('terminate user connections', () => {
  test('pusher.terminateUserConnections closes every socket of the user with 4009', async () => {
    const id = uid('term');
    const a = await raw();
    const b = await raw();
    const bystander = await raw();
    await rawSignin(a, { id });
    await rawSignin(b, { id });
    await rawSignin(bystander, { id: uid('bystander') });
    const res = await rest.terminateUserConnections(id);
    assert.equal(res.status, 200);
    for (const c of [a, b]) {
      const closed = await Promise.race([c.closed, sleep(3000).then(() => null)]);
      assert.ok(closed, 'socket was not closed');
      assert.deepEqual(c.messages.at(-1), { event: 'pusher:error', data: { code: 4009, message: 'You got disconnected by the app' } });
      assert.equal(closed.code, 4009);
      assert.equal(closed.reason, 'You got disconnected by the app');
    }
    assert.equal(bystander.isClosed, false);
    await bystander.ping();
  });

  test('pusher-js does not reconnect after terminateUserConnections', async () => {
    const id = uid('jsterm');
    const p = await jsSignin({ id });
    const errors = [];
    p.connection.bind('error', (e) => errors.push(e));
    await rest.terminateUserConnections(id);
    await waitFor(() => p.connection.state !== 'connected', 3000, 'pusher-js disconnected');
    await sleep(1500);
    assert.notEqual(p.connection.state, 'connected');
    assert.ok(errors.some((e) => e.data && e.data.code === 4009), `pusher-js saw error 4009: ${JSON.stringify(errors)}`);
  });
});

test('the server process is still alive at the end', async () => {
  assert.ok(alive(server));
  const c = await RawClient.connect(wsUrl(server, app.key));
  await c.ping();
  c.close();
});
