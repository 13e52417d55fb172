// Channels (PROTOCOL.md §5-§8, §11, §13): public, private, presence, private-encrypted and
// cache channels with the real pusher-js client, the `pusher` SDK for auth and publishing,
// and raw frames where the exact wire format matters.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { createDatabase, createApp, startServer } from '../harness/index.mjs';
import {
  RawClient, alive, connected, pusherClient, record, restClient, sleep, subscribed, waitFor, wsUrl,
} from './helpers.mjs';

const ENCRYPTION_KEY = randomBytes(32).toString('base64');
let db, server, app, countApp, smallApp, rest, countRest;
const clients = [];
const keep = (c) => (clients.push(c), c);
let seq = 0;
const uniq = (prefix) => `${prefix}${Date.now().toString(36)}-${++seq}`;

before(async () => {
  db = createDatabase();
  app = createApp(db, []);
  countApp = createApp(db, ['--subscription-count'], 'counted');
  smallApp = createApp(db, ['--max-presence-members', '2', '--max-presence-info-bytes', '64'], 'small');
  server = await startServer({ dbUrl: db });
  rest = restClient(server, app, { encryptionMasterKeyBase64: ENCRYPTION_KEY });
  countRest = restClient(server, countApp);
});

after(async () => {
  for (const c of clients) (c.disconnect ? c.disconnect() : c.close());
  await server?.stop();
});

const sign = (secret, text) => createHmac('sha256', secret).update(text).digest('hex');
const raw = async (a = app) => keep(await RawClient.connect(wsUrl(server, a.key)));
const privateAuth = (a, socketId, channel, channelData) =>
  `${a.key}:${sign(a.secret, channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`)}`;

describe('public channels', () => {
  test('subscribe answers pusher_internal:subscription_succeeded with data "{}"', async () => {
    const c = await raw();
    const ch = uniq('public-');
    const m = await c.subscribe(ch, { auth: '' });
    assert.deepEqual(m, { event: 'pusher_internal:subscription_succeeded', channel: ch, data: '{}' });
  });

  test('pusher-js receives an event triggered through the REST API with data verbatim', async () => {
    const p = keep(pusherClient(server, app));
    const name = uniq('news-');
    await subscribed(p, name);
    const got = record(p.channel(name));
    await rest.trigger(name, 'story', { title: 'hello', n: 1 });
    await waitFor(() => got.find((e) => e.event === 'story'), 3000, 'story event');
    assert.deepEqual(got.find((e) => e.event === 'story').data, { title: 'hello', n: 1 });
  });

  test('a raw subscriber gets {"event","channel","data"} with data as the published string', async () => {
    const c = await raw();
    const ch = uniq('wire-');
    await c.subscribe(ch);
    const from = c.messages.length;
    await rest.trigger(ch, 'evt', 'plain text, not JSON');
    const m = await c.next((m) => m.event === 'evt', 3000, from);
    assert.deepEqual(m, { event: 'evt', channel: ch, data: 'plain text, not JSON' });
  });

  test('after pusher:unsubscribe no more events arrive on that channel', async () => {
    const c = await raw();
    const ch = uniq('unsub-');
    await c.subscribe(ch);
    c.send({ event: 'pusher:unsubscribe', data: { channel: ch } });
    await c.ping();
    const from = c.messages.length;
    await rest.trigger(ch, 'evt', 'x');
    await sleep(300);
    assert.deepEqual(c.since(from), []);
  });

  test('pusher:unsubscribe of a channel never subscribed gets no reply', async () => {
    const c = await raw();
    const from = c.messages.length;
    c.send({ event: 'pusher:unsubscribe', data: { channel: 'never-subscribed' } });
    await sleep(200);
    assert.deepEqual(c.since(from), []);
    await c.ping();
  });

  test('subscribe data may arrive as a JSON-encoded string (old protocol docs)', async () => {
    const c = await raw();
    const ch = uniq('strdata-');
    const m = await c.request({ event: 'pusher:subscribe', data: JSON.stringify({ channel: ch }) },
      (m) => m.channel === ch);
    assert.equal(m.event, 'pusher_internal:subscription_succeeded');
  });
});

describe('channel names', () => {
  const invalidError = (ch) => ({
    event: 'pusher:subscription_error', channel: ch,
    data: { type: 'InvalidChannel', error: 'Invalid channel name: use 1-200 characters of A-Z a-z 0-9 _ - = @ , . ;', status: 400 },
  });

  for (const [why, name] of [
    ['a space', 'bad name'],
    ['a "!"', 'bad!'],
    ['a "/"', 'a/b'],
    ['a non-ASCII letter', 'caf\u00e9'],
    ['201 characters', 'a'.repeat(201)],
    ['only a "#" that is not #server-to-user-', '#internal'],
  ]) {
    test(`a channel name with ${why} gets subscription_error InvalidChannel 400 and the socket stays open`, async () => {
      const c = await raw();
      const m = await c.request({ event: 'pusher:subscribe', data: { channel: name } }, (m) => m.event === 'pusher:subscription_error');
      assert.deepEqual(m, invalidError(name));
      await c.ping();
    });
  }

  test('an empty channel name gets subscription_error InvalidChannel 400', async () => {
    const c = await raw();
    const m = await c.request({ event: 'pusher:subscribe', data: { channel: '' } }, (m) => m.event === 'pusher:subscription_error');
    assert.deepEqual(m, invalidError(''));
  });

  test('a 200-character name using every allowed punctuation character is accepted', async () => {
    const c = await raw();
    const base = 'Az09_-=@,.;';
    const name = (base + 'x'.repeat(200)).slice(0, 200);
    const m = await c.subscribe(name);
    assert.equal(m.event, 'pusher_internal:subscription_succeeded');
  });

  test('pusher:subscribe without data.channel gets pusher:error code null', async () => {
    const c = await raw();
    const m = await c.request({ event: 'pusher:subscribe', data: {} }, (m) => m.event === 'pusher:error');
    assert.deepEqual(m, { event: 'pusher:error', data: { code: null, message: 'Invalid pusher:subscribe: data.channel must be a string' } });
    await c.ping();
  });
});

describe('subscribe idempotency', () => {
  test('a second subscribe to the same channel gets pusher:error "Existing subscription to channel X" and keeps one membership', async () => {
    const c = await raw(countApp);
    const ch = uniq('twice-');
    await c.subscribe(ch);
    const from = c.messages.length;
    c.send({ event: 'pusher:subscribe', data: { channel: ch } });
    const m = await c.next((m) => m.event === 'pusher:error', 3000, from);
    assert.deepEqual(m, { event: 'pusher:error', channel: ch, data: { code: null, message: `Existing subscription to channel ${ch}` } });
    const info = await (await countRest.get({ path: `/channels/${ch}`, params: { info: 'subscription_count' } })).json();
    assert.deepEqual(info, { occupied: true, subscription_count: 1 });
    // Only one copy of each event.
    const before = c.messages.length;
    await countRest.trigger(ch, 'once', 'x');
    await c.next((m) => m.event === 'once', 3000, before);
    await sleep(200);
    assert.equal(c.since(before).filter((m) => m.event === 'once').length, 1);
  });

  test('a second subscribe to the same presence channel does not add a member twice', async () => {
    const c = await raw();
    const ch = uniq('presence-twice-');
    const cd = JSON.stringify({ user_id: 'u1' });
    await c.subscribe(ch, { auth: privateAuth(app, c.socketId, ch, cd), channel_data: cd });
    const from = c.messages.length;
    c.send({ event: 'pusher:subscribe', data: { channel: ch, auth: privateAuth(app, c.socketId, ch, cd), channel_data: cd } });
    await c.next((m) => m.event === 'pusher:error', 3000, from);
    const users = await (await rest.get({ path: `/channels/${ch}/users` })).json();
    assert.deepEqual(users, { users: [{ id: 'u1' }] });
  });
});

describe('private channels', () => {
  test('pusher-js subscribes with a signature from pusher.authorizeChannel and receives events', async () => {
    const p = keep(pusherClient(server, app));
    const ch = uniq('private-room-');
    await subscribed(p, ch);
    const got = record(p.channel(ch));
    await rest.trigger(ch, 'secret', { ok: true });
    await waitFor(() => got.find((e) => e.event === 'secret'), 3000, 'private event');
  });

  test('the worked signature format key:hex(HMAC(socket_id:channel)) is accepted on the wire', async () => {
    const c = await raw();
    const ch = uniq('private-wire-');
    const m = await c.subscribe(ch, { auth: privateAuth(app, c.socketId, ch) });
    assert.deepEqual(m, { event: 'pusher_internal:subscription_succeeded', channel: ch, data: '{}' });
  });

  test('a private signature that also signs channel_data (PHP authorizeChannel with custom data) is accepted', async () => {
    const c = await raw();
    const ch = uniq('private-cd-');
    const cd = JSON.stringify({ user_id: 'php' });
    const m = await c.subscribe(ch, { auth: privateAuth(app, c.socketId, ch, cd), channel_data: cd });
    assert.equal(m.event, 'pusher_internal:subscription_succeeded');
  });

  test('pusher-js sees pusher:subscription_error with status 401 for a bad signature and stays connected', async () => {
    const p = keep(pusherClient(server, app, {
      authorize: (socketId, channelName) => ({ auth: `${app.key}:${'0'.repeat(64)}` }),
    }));
    const socketId = await connected(p);
    const ch = uniq('private-bad-');
    const err = await subscribed(p, ch).then(() => null, (e) => e);
    assert.ok(err, 'subscription should fail');
    assert.equal(err.status, 401);
    assert.deepEqual(err.data, { type: 'AuthError', error: 'Invalid signature', status: 401 });
    await sleep(300);
    assert.equal(p.connection.state, 'connected');
    assert.equal(p.connection.socket_id, socketId);
  });

  test('a signature for another socket_id is refused with AuthError 401 "Invalid signature"', async () => {
    const c = await raw();
    const ch = uniq('private-other-');
    const m = await c.subscribe(ch, { auth: privateAuth(app, '1234.5678', ch) });
    assert.deepEqual(m, { event: 'pusher:subscription_error', channel: ch, data: { type: 'AuthError', error: 'Invalid signature', status: 401 } });
    await c.ping();
  });

  test('a signature for another channel is refused with AuthError 401', async () => {
    const c = await raw();
    const ch = uniq('private-a-');
    const m = await c.subscribe(ch, { auth: privateAuth(app, c.socketId, 'private-b') });
    assert.equal(m.event, 'pusher:subscription_error');
    assert.equal(m.data.status, 401);
  });

  test('a missing auth is refused with AuthError 401 "Missing or malformed auth"', async () => {
    const c = await raw();
    const ch = uniq('private-noauth-');
    const m = await c.subscribe(ch);
    assert.deepEqual(m, { event: 'pusher:subscription_error', channel: ch, data: { type: 'AuthError', error: 'Missing or malformed auth: expected "key:signature"', status: 401 } });
    await c.ping();
  });

  test('an auth signed with another app\'s key is refused with "Invalid key in auth: not a key of this app"', async () => {
    const c = await raw();
    const ch = uniq('private-key-');
    const m = await c.subscribe(ch, { auth: privateAuth(countApp, c.socketId, ch) });
    assert.deepEqual(m, { event: 'pusher:subscription_error', channel: ch, data: { type: 'AuthError', error: 'Invalid key in auth: not a key of this app', status: 401 } });
  });

  test('a refused private subscription receives no events published on the channel', async () => {
    const c = await raw();
    const ch = uniq('private-refused-');
    await c.subscribe(ch, { auth: `${app.key}:${'f'.repeat(64)}` });
    const from = c.messages.length;
    await rest.trigger(ch, 'leak', 'x');
    await sleep(300);
    assert.deepEqual(c.since(from), []);
  });
});

describe('presence channels', () => {
  const presenceAuth = (c, ch, user) => {
    const cd = JSON.stringify(user);
    return { auth: privateAuth(app, c.socketId, ch, cd), channel_data: cd };
  };

  test('subscription_succeeded carries presence {count, ids, hash} of unique users', async () => {
    const ch = uniq('presence-room-');
    const a = await raw();
    await a.subscribe(ch, presenceAuth(a, ch, { user_id: '42', user_info: { name: 'Ada' } }));
    const b = await raw();
    const m = await b.subscribe(ch, presenceAuth(b, ch, { user_id: '7' }));
    assert.equal(m.event, 'pusher_internal:subscription_succeeded');
    assert.equal(typeof m.data, 'string');
    const data = JSON.parse(m.data);
    assert.equal(data.presence.count, 2);
    assert.deepEqual([...data.presence.ids].sort(), ['42', '7']);
    assert.deepEqual(data.presence.hash, { 42: { name: 'Ada' }, 7: null });
  });

  test('pusher-js members reflect count, me and each member\'s info', async () => {
    const ch = uniq('presence-js-');
    const a = keep(pusherClient(server, app, { presence: { user_id: 'alice', user_info: { name: 'Alice' } } }));
    await subscribed(a, ch);
    const b = keep(pusherClient(server, app, { presence: { user_id: 'bob', user_info: { name: 'Bob' } } }));
    const members = await subscribed(b, ch);
    assert.equal(members.count, 2);
    assert.deepEqual(members.me, { id: 'bob', info: { name: 'Bob' } });
    const seen = {};
    members.each((m) => (seen[m.id] = m.info));
    assert.deepEqual(seen, { alice: { name: 'Alice' }, bob: { name: 'Bob' } });
  });

  test('member_added goes to the other subscribers only, with {user_id, user_info}', async () => {
    const ch = uniq('presence-added-');
    const a = await raw();
    await a.subscribe(ch, presenceAuth(a, ch, { user_id: 'a' }));
    const fromA = a.messages.length;
    const b = await raw();
    await b.subscribe(ch, presenceAuth(b, ch, { user_id: 'b', user_info: { role: 'x' } }));
    const added = await a.next((m) => m.event === 'pusher_internal:member_added', 3000, fromA);
    assert.deepEqual(added, { event: 'pusher_internal:member_added', channel: ch, data: JSON.stringify({ user_id: 'b', user_info: { role: 'x' } }) });
    await sleep(200);
    assert.deepEqual(b.messages.filter((m) => m.event === 'pusher_internal:member_added'), [], 'joiner must not get its own member_added');
  });

  test('pusher-js gets pusher:member_added and pusher:member_removed for another user', async () => {
    const ch = uniq('presence-js2-');
    const a = keep(pusherClient(server, app, { presence: { user_id: 'watcher' } }));
    await subscribed(a, ch);
    const events = record(a.channel(ch));
    const b = pusherClient(server, app, { presence: { user_id: 'visitor', user_info: { v: 1 } } });
    await subscribed(b, ch);
    await waitFor(() => events.find((e) => e.event === 'pusher:member_added'), 3000, 'member_added');
    assert.deepEqual(events.find((e) => e.event === 'pusher:member_added').data, { id: 'visitor', info: { v: 1 } });
    assert.equal(a.channel(ch).members.count, 2);
    b.disconnect();
    await waitFor(() => events.find((e) => e.event === 'pusher:member_removed'), 5000, 'member_removed');
    assert.equal(events.find((e) => e.event === 'pusher:member_removed').data.id, 'visitor');
    assert.equal(a.channel(ch).members.count, 1);
  });

  test('a user with two sockets is one member: no second member_added, member_removed only when the last socket closes', async () => {
    const ch = uniq('presence-multi-');
    const watcher = await raw();
    await watcher.subscribe(ch, presenceAuth(watcher, ch, { user_id: 'w' }));
    const from = watcher.messages.length;
    const s1 = await raw();
    await s1.subscribe(ch, presenceAuth(s1, ch, { user_id: 'dup' }));
    const s2 = await raw();
    const m2 = await s2.subscribe(ch, presenceAuth(s2, ch, { user_id: 'dup' }));
    assert.equal(JSON.parse(m2.data).presence.count, 2, 'w and dup');
    await sleep(300);
    const added = watcher.since(from).filter((m) => m.event === 'pusher_internal:member_added');
    assert.equal(added.length, 1, 'exactly one member_added for dup');
    s1.close();
    await s1.closed;
    await sleep(500);
    assert.deepEqual(watcher.since(from).filter((m) => m.event === 'pusher_internal:member_removed'), [], 'dup still has a socket');
    const users = await (await rest.get({ path: `/channels/${ch}/users` })).json();
    assert.deepEqual(users.users.map((u) => u.id).sort(), ['dup', 'w']);
    s2.close();
    const removed = await watcher.next((m) => m.event === 'pusher_internal:member_removed', 5000, from);
    assert.deepEqual(removed, { event: 'pusher_internal:member_removed', channel: ch, data: JSON.stringify({ user_id: 'dup' }) });
  });

  test('pusher:unsubscribe from a presence channel sends member_removed to the others', async () => {
    const ch = uniq('presence-unsub-');
    const a = await raw();
    await a.subscribe(ch, presenceAuth(a, ch, { user_id: 'stay' }));
    const b = await raw();
    await b.subscribe(ch, presenceAuth(b, ch, { user_id: 'leave' }));
    const from = a.messages.length;
    b.send({ event: 'pusher:unsubscribe', data: { channel: ch } });
    const removed = await a.next((m) => m.event === 'pusher_internal:member_removed', 3000, from);
    assert.equal(removed.data, JSON.stringify({ user_id: 'leave' }));
  });

  test('a numeric user_id is normalised to its decimal string', async () => {
    const ch = uniq('presence-num-');
    const a = await raw();
    const m = await a.subscribe(ch, presenceAuth(a, ch, { user_id: 123 }));
    assert.deepEqual(JSON.parse(m.data).presence.ids, ['123']);
  });

  test('presence without channel_data (and not signed in) is refused with InvalidChannelData 400', async () => {
    const ch = uniq('presence-nocd-');
    const a = await raw();
    const m = await a.subscribe(ch, { auth: privateAuth(app, a.socketId, ch) });
    assert.deepEqual(m, { event: 'pusher:subscription_error', channel: ch, data: { type: 'InvalidChannelData', error: 'Presence channels need channel_data with a user_id', status: 400 } });
  });

  test('channel_data as an object instead of a string is refused with InvalidChannelData 400', async () => {
    const ch = uniq('presence-obj-');
    const a = await raw();
    const m = await a.subscribe(ch, { auth: privateAuth(app, a.socketId, ch, '{"user_id":"x"}'), channel_data: { user_id: 'x' } });
    assert.deepEqual(m, { event: 'pusher:subscription_error', channel: ch, data: { type: 'InvalidChannelData', error: 'channel_data must be a JSON-encoded string', status: 400 } });
  });

  test('channel_data without user_id is refused with InvalidChannelData 400', async () => {
    const ch = uniq('presence-nouid-');
    const a = await raw();
    const m = await a.subscribe(ch, presenceAuth(a, ch, { user_info: {} }));
    assert.equal(m.event, 'pusher:subscription_error');
    assert.deepEqual(m.data, { type: 'InvalidChannelData', error: 'channel_data.user_id must be a non-empty string of at most 128 characters [A-Za-z0-9_-=@,.;]', status: 400 });
  });

  test('a presence signature that does not cover channel_data is refused with AuthError 401', async () => {
    const ch = uniq('presence-tamper-');
    const a = await raw();
    const m = await a.subscribe(ch, { auth: privateAuth(app, a.socketId, ch, '{"user_id":"me"}'), channel_data: '{"user_id":"admin"}' });
    assert.deepEqual(m.data, { type: 'AuthError', error: 'Invalid signature', status: 401 });
  });

  test('member limit (--max-presence-members 2): a third user gets LimitReached 4009, an existing user may add a socket', async () => {
    const ch = uniq('presence-full-');
    const auth = (c, user) => {
      const cd = JSON.stringify(user);
      return { auth: privateAuth(smallApp, c.socketId, ch, cd), channel_data: cd };
    };
    const a = await raw(smallApp);
    assert.equal((await a.subscribe(ch, auth(a, { user_id: 'one' }))).event, 'pusher_internal:subscription_succeeded');
    const b = await raw(smallApp);
    assert.equal((await b.subscribe(ch, auth(b, { user_id: 'two' }))).event, 'pusher_internal:subscription_succeeded');
    const c = await raw(smallApp);
    const m = await c.subscribe(ch, auth(c, { user_id: 'three' }));
    assert.deepEqual(m, { event: 'pusher:subscription_error', channel: ch, data: { type: 'LimitReached', error: 'Presence channel is full: at most 2 members', status: 4009 } });
    await c.ping();
    const a2 = await raw(smallApp);
    assert.equal((await a2.subscribe(ch, auth(a2, { user_id: 'one' }))).event, 'pusher_internal:subscription_succeeded');
    // Once a member leaves there is room again.
    b.close();
    await b.closed;
    await waitFor(async () => {
      const d = await RawClient.connect(wsUrl(server, smallApp.key));
      const r = await d.subscribe(ch, auth(d, { user_id: 'three' }));
      if (r.event !== 'pusher_internal:subscription_succeeded') { d.close(); return false; }
      keep(d);
      return true;
    }, 3000, 'room after a member left');
  });

  test('user_info larger than --max-presence-info-bytes is refused with LimitReached 4009 "user_info is too large"', async () => {
    const ch = uniq('presence-big-');
    const c = await raw(smallApp);
    const cd = JSON.stringify({ user_id: 'big', user_info: { bio: 'x'.repeat(100) } });
    const m = await c.subscribe(ch, { auth: privateAuth(smallApp, c.socketId, ch, cd), channel_data: cd });
    assert.deepEqual(m, { event: 'pusher:subscription_error', channel: ch, data: { type: 'LimitReached', error: 'user_info is too large', status: 4009 } });
    await c.ping();
  });

  test('default 1 KB user_info limit: 2000 bytes of user_info are refused with status 4009', async () => {
    const ch = uniq('presence-big2-');
    const c = await raw();
    const m = await c.subscribe(ch, presenceAuth(c, ch, { user_id: 'big', user_info: { bio: 'y'.repeat(2000) } }));
    assert.equal(m.event, 'pusher:subscription_error');
    assert.equal(m.data.status, 4009);
  });
});

describe('private-encrypted channels', () => {
  test('pusher-js decrypts an event the pusher SDK encrypted with the master key', async () => {
    const p = keep(pusherClient(server, app, { sdk: rest }));
    const ch = uniq('private-encrypted-');
    await subscribed(p, ch);
    const got = record(p.channel(ch));
    await rest.trigger(ch, 'sealed', { secret: 'plaintext' });
    await waitFor(() => got.find((e) => e.event === 'sealed'), 3000, 'decrypted event');
    assert.deepEqual(got.find((e) => e.event === 'sealed').data, { secret: 'plaintext' });
  });

  test('the server relays the {nonce, ciphertext} envelope, never plaintext', async () => {
    const c = await raw();
    const ch = uniq('private-encrypted-wire-');
    assert.equal((await c.subscribe(ch, { auth: privateAuth(app, c.socketId, ch) })).event, 'pusher_internal:subscription_succeeded');
    const from = c.messages.length;
    await rest.trigger(ch, 'sealed', { secret: 'plaintext' });
    const m = await c.next((m) => m.event === 'sealed', 3000, from);
    const env = JSON.parse(m.data);
    assert.deepEqual(Object.keys(env).sort(), ['ciphertext', 'nonce']);
    assert.equal(Buffer.from(env.nonce, 'base64').length, 24);
    assert.ok(!m.data.includes('plaintext'));
  });

  test('a private-encrypted subscription without a valid signature is refused with AuthError 401', async () => {
    const c = await raw();
    const ch = uniq('private-encrypted-bad-');
    const m = await c.subscribe(ch, { auth: `${app.key}:${'1'.repeat(64)}` });
    assert.equal(m.event, 'pusher:subscription_error');
    assert.equal(m.data.status, 401);
  });
});

describe('cache channels', () => {
  test('subscribing to a cache channel after a REST publish delivers the cached event to pusher-js', async () => {
    const ch = uniq('cache-news-');
    await rest.trigger(ch, 'headline', { title: 'cached' });
    const p = keep(pusherClient(server, app));
    await connected(p);
    const channel = p.subscribe(ch);
    const got = record(channel);
    await waitFor(() => got.find((e) => e.event === 'headline'), 3000, 'cached event');
    assert.deepEqual(got.find((e) => e.event === 'headline').data, { title: 'cached' });
    assert.ok(got.findIndex((e) => e.event === 'pusher:subscription_succeeded') < got.findIndex((e) => e.event === 'headline'));
  });

  test('the cached event is the last one published and arrives right after subscription_succeeded', async () => {
    const ch = uniq('cache-last-');
    await rest.trigger(ch, 'v', '1');
    await rest.trigger(ch, 'v', '2');
    const c = await raw();
    const from = c.messages.length;
    c.send({ event: 'pusher:subscribe', data: { channel: ch } });
    await c.next((m) => m.event === 'v', 3000, from);
    const seen = c.since(from);
    assert.deepEqual(seen, [
      { event: 'pusher_internal:subscription_succeeded', channel: ch, data: '{}' },
      { event: 'v', channel: ch, data: '2' },
    ]);
  });

  test('an empty cache channel answers pusher:cache_miss after subscription_succeeded', async () => {
    const ch = uniq('cache-empty-');
    const c = await raw();
    const from = c.messages.length;
    c.send({ event: 'pusher:subscribe', data: { channel: ch } });
    await c.next((m) => m.event === 'pusher:cache_miss', 3000, from);
    assert.deepEqual(c.since(from), [
      { event: 'pusher_internal:subscription_succeeded', channel: ch, data: '{}' },
      { event: 'pusher:cache_miss', channel: ch, data: '{}' },
    ]);
  });

  test('pusher-js sees pusher:cache_miss on an empty cache channel', async () => {
    const ch = uniq('cache-js-');
    const p = keep(pusherClient(server, app));
    await connected(p);
    const got = record(p.subscribe(ch));
    await waitFor(() => got.find((e) => e.event === 'pusher:cache_miss'), 3000, 'cache_miss');
  });

  test('private-cache channels need auth and deliver the cached event', async () => {
    const ch = uniq('private-cache-');
    await rest.trigger(ch, 'state', { s: 1 });
    const p = keep(pusherClient(server, app));
    await connected(p);
    const got = record(p.subscribe(ch));
    await waitFor(() => got.find((e) => e.event === 'state'), 3000, 'cached private event');
    assert.deepEqual(got.find((e) => e.event === 'state').data, { s: 1 });
  });

  test('presence-cache channels deliver the cached event after the member list', async () => {
    const ch = uniq('presence-cache-');
    await rest.trigger(ch, 'state', 'p');
    const c = await raw();
    const cd = JSON.stringify({ user_id: 'pc' });
    const from = c.messages.length;
    c.send({ event: 'pusher:subscribe', data: { channel: ch, auth: privateAuth(app, c.socketId, ch, cd), channel_data: cd } });
    await c.next((m) => m.event === 'state', 3000, from);
    const seen = c.since(from);
    assert.equal(seen[0].event, 'pusher_internal:subscription_succeeded');
    assert.deepEqual(seen[1], { event: 'state', channel: ch, data: 'p' });
  });
});

describe('subscription_count (--subscription-count)', () => {
  test('subscribers get pusher_internal:subscription_count on every subscribe and unsubscribe', async () => {
    const ch = uniq('counted-');
    const a = await raw(countApp);
    const fromA = a.messages.length;
    a.send({ event: 'pusher:subscribe', data: { channel: ch } });
    const first = await a.next((m) => m.event === 'pusher_internal:subscription_count', 3000, fromA);
    assert.deepEqual(first, { event: 'pusher_internal:subscription_count', channel: ch, data: '{"subscription_count":1}' });
    const b = await raw(countApp);
    const mark = a.messages.length;
    await b.subscribe(ch);
    const two = await a.next((m) => m.event === 'pusher_internal:subscription_count', 3000, mark);
    assert.equal(two.data, '{"subscription_count":2}');
    const twoB = await b.next((m) => m.event === 'pusher_internal:subscription_count');
    assert.equal(twoB.data, '{"subscription_count":2}');
    const mark2 = a.messages.length;
    b.send({ event: 'pusher:unsubscribe', data: { channel: ch } });
    const one = await a.next((m) => m.event === 'pusher_internal:subscription_count', 3000, mark2);
    assert.equal(one.data, '{"subscription_count":1}');
  });

  test('a disconnect lowers the count seen by the remaining subscribers', async () => {
    const ch = uniq('counted-dc-');
    const a = await raw(countApp);
    await a.subscribe(ch);
    const b = await raw(countApp);
    await b.subscribe(ch);
    const mark = a.messages.length;
    b.close();
    const one = await a.next((m) => m.event === 'pusher_internal:subscription_count', 3000, mark);
    assert.equal(one.data, '{"subscription_count":1}');
  });

  test('pusher-js re-emits it as pusher:subscription_count with {subscription_count}', async () => {
    const ch = uniq('counted-js-');
    const p = keep(pusherClient(server, countApp));
    await connected(p);
    const got = record(p.subscribe(ch));
    await waitFor(() => got.find((e) => e.event === 'pusher:subscription_count'), 3000, 'subscription_count');
    assert.deepEqual(got.find((e) => e.event === 'pusher:subscription_count').data, { subscription_count: 1 });
  });

  test('presence channels get no subscription_count events', async () => {
    const ch = uniq('presence-counted-');
    const a = await raw(countApp);
    const cd = '{"user_id":"pc"}';
    const from = a.messages.length;
    await a.subscribe(ch, { auth: privateAuth(countApp, a.socketId, ch, cd), channel_data: cd });
    await sleep(300);
    assert.deepEqual(a.since(from).filter((m) => m.event === 'pusher_internal:subscription_count'), []);
  });

  test('without --subscription-count no subscription_count events are sent', async () => {
    const ch = uniq('uncounted-');
    const a = await raw(app);
    const from = a.messages.length;
    await a.subscribe(ch);
    const b = await raw(app);
    await b.subscribe(ch);
    await sleep(300);
    assert.deepEqual(a.since(from).filter((m) => m.event === 'pusher_internal:subscription_count'), []);
  });
});

test('the server process is still alive at the end', async () => {
  assert.ok(alive(server));
  const c = await RawClient.connect(wsUrl(server, app.key));
  await c.ping();
  c.close();
});
