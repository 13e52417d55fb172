// Connection tokens (JWT, docs/security.md#connection-tokens-jwt): the `token` query parameter
// of the handshake and pusher:signin {"token"}, checked against a real rtserver. Tokens are
// minted here with Node's crypto (never with rtserver's or rtadmin's code): HS256 with app
// secrets, RS256 and ES256 with keys from generateKeyPairSync registered through rtadmin.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, createApp, freePort, rtadmin, startServer } from '../harness/index.mjs';
import {
  PusherJs, RawClient, connected, handshakeFailure, pusherClient, sleep, subscribed, waitFor, wsUrl,
} from './helpers.mjs';

let db, server, app, rsApp, esApp, strictApp, userAuthApp;
const clients = [];
const keep = (c) => (clients.push(c), c);
let seq = 0;
const uid = (p) => `${p}${Date.now().toString(36)}${++seq}`;
const now = () => Math.floor(Date.now() / 1000);

const keyDir = mkdtempSync(path.join(tmpdir(), 'rt-jwt-'));
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pemFile = (name, key) => {
  const file = path.join(keyDir, name);
  writeFileSync(file, key.export({ type: 'spki', format: 'pem' }));
  return file;
};

const b64 = (text) => Buffer.from(text).toString('base64url');

/** A JWT: header {alg, typ, kid?}, claims as given, signed per alg (none: empty signature). */
function mint({ alg = 'HS256', kid, secret, privateKey, claims, header = {} }) {
  const input = `${b64(JSON.stringify({ alg, typ: 'JWT', ...(kid ? { kid } : {}), ...header }))}.${b64(JSON.stringify(claims))}`;
  const bits = alg.slice(2);
  let sig = '';
  if (alg.startsWith('HS')) sig = createHmac(`sha${bits}`, secret).update(input).digest('base64url');
  else if (alg.startsWith('RS')) sig = sign(`sha${bits}`, Buffer.from(input), privateKey).toString('base64url');
  else if (alg.startsWith('ES')) sig = sign(`sha${bits}`, Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return `${input}.${sig}`;
}

/** Claims a server accepts for a (sub, aud = app id, iat now, exp in 5 minutes) + extra. */
const claimsFor = (a, extra = {}) => ({ sub: uid('u'), aud: a.id, iat: now(), exp: now() + 300, ...extra });
/** An HS256 token of app a signed with its secret, kid = its key. */
const hs = (a, extra = {}) => mint({ kid: a.key, secret: a.secret, claims: claimsFor(a, extra) });

const tokenUrl = (a, token) => wsUrl(server, a.key, { query: `protocol=7&client=js&version=8.4.0&token=${encodeURIComponent(token)}` });
const connectWith = async (a, token) => keep(await RawClient.connect(tokenUrl(a, token)));

/** The handshake is refused: pusher:error {4009, message}, then close 4009 with it. */
async function expectRefused(a, token, message) {
  const { closed, messages } = await handshakeFailure(tokenUrl(a, token));
  assert.ok(closed, 'connection was not closed');
  assert.deepEqual(messages, [{ event: 'pusher:error', data: { code: 4009, message } }]);
  assert.deepEqual(closed, { code: 4009, reason: message });
}

/** Signed in as id: the server lets the socket join #server-to-user-{id}. */
async function expectSignedInAs(c, id) {
  const m = await c.subscribe(`#server-to-user-${id}`);
  assert.equal(m.event, 'pusher_internal:subscription_succeeded', JSON.stringify(m));
}

async function metrics() {
  return (await fetch(`${server.url}/metrics`)).text();
}
const metric = (text, name) => Number((new RegExp(`^${name.replace(/[{}"=]/g, (ch) => `\\${ch}`)} (\\d+)$`, 'm').exec(text) || [])[1] ?? NaN);

before(async () => {
  db = createDatabase();
  app = createApp(db, [], 'tokens');
  rsApp = createApp(db, ['--jwt-algorithms', 'HS256,RS256', '--jwt-public-key', pemFile('rsa.pem', rsa.publicKey)], 'rs256');
  esApp = createApp(db, ['--jwt-algorithms', 'ES256', '--jwt-public-key', pemFile('ec.pem', ec.publicKey)], 'es256');
  strictApp = createApp(db, ['--require-token'], 'strict');
  userAuthApp = createApp(db, ['--user-auth'], 'user-auth');
  // debug: the check that no token reaches the log covers every level
  server = await startServer({ dbUrl: db, env: { RT_LOG_LEVEL: 'debug' } });
});

after(async () => {
  for (const c of clients) (c.disconnect ? c.disconnect() : c.close());
  await server?.stop();
});

describe('handshake token matrix', () => {
  test('valid HS256 token (kid = app key): connected and signed in as sub', async () => {
    const claims = claimsFor(app);
    const c = await connectWith(app, mint({ kid: app.key, secret: app.secret, claims }));
    assert.equal(c.messages[0].event, 'pusher:connection_established');
    await expectSignedInAs(c, claims.sub);
  });

  test('without a token the same app connects as before, not signed in', async () => {
    const c = keep(await RawClient.connect(wsUrl(server, app.key)));
    const m = await c.subscribe('#server-to-user-someone');
    assert.equal(m.event, 'pusher:subscription_error');
  });

  test('aud may be the app key instead of the app id', async () => {
    const claims = claimsFor(app, { aud: app.key });
    await expectSignedInAs(await connectWith(app, mint({ kid: app.key, secret: app.secret, claims })), claims.sub);
  });

  test('expired (exp 31 s ago, past the 30 s leeway): 4009 "Token expired"', async () => {
    await expectRefused(app, hs(app, { iat: now() - 400, exp: now() - 31 }), 'Token expired');
  });

  test('expired within the 30 s leeway is still accepted', async () => {
    const claims = claimsFor(app, { iat: now() - 300, exp: now() - 20 });
    await expectSignedInAs(await connectWith(app, mint({ kid: app.key, secret: app.secret, claims })), claims.sub);
  });

  test('not yet valid (nbf 2 minutes ahead): 4009', async () => {
    await expectRefused(app, hs(app, { nbf: now() + 120 }), 'Token not valid yet (nbf is in the future)');
  });

  test('issued in the future (iat 2 minutes ahead): 4009', async () => {
    await expectRefused(app, hs(app, { iat: now() + 120, exp: now() + 400 }), 'Token not valid yet (iat is in the future)');
  });

  test('signed with another secret (wrong key): 4009 "Token signature does not verify"', async () => {
    await expectRefused(app, mint({ kid: app.key, secret: 'not-the-secret', claims: claimsFor(app) }), 'Token signature does not verify');
  });

  test('signed with another app\'s secret under its own kid: 4009, kid is not a key of this app', async () => {
    await expectRefused(app, mint({ kid: rsApp.key, secret: rsApp.secret, claims: claimsFor(app) }), 'Token kid is not an active key of this app');
  });

  test('HS256 without kid: 4009', async () => {
    await expectRefused(app, mint({ secret: app.secret, claims: claimsFor(app) }), 'Token kid is not an active key of this app');
  });

  test('alg none (unsigned): 4009, never accepted', async () => {
    await expectRefused(app, mint({ alg: 'none', kid: app.key, claims: claimsFor(app) }), 'Token algorithm none is never accepted');
    // even with a signature part that is not empty
    await expectRefused(app, `${mint({ alg: 'none', kid: app.key, claims: claimsFor(app) })}c2ln`, 'Token algorithm none is never accepted');
  });

  test('an algorithm the app does not allow (HS512 on an HS256 app): 4009', async () => {
    await expectRefused(app, mint({ alg: 'HS512', kid: app.key, secret: app.secret, claims: claimsFor(app) }),
      'Token algorithm HS512 is not accepted by this app');
  });

  test('RS256 signed with the key registered on the app: signed in', async () => {
    const claims = claimsFor(rsApp);
    await expectSignedInAs(await connectWith(rsApp, mint({ alg: 'RS256', privateKey: rsa.privateKey, claims })), claims.sub);
  });

  test('RS256 signed with another RSA key: 4009 signature', async () => {
    await expectRefused(rsApp, mint({ alg: 'RS256', privateKey: otherRsa.privateKey, claims: claimsFor(rsApp) }), 'Token signature does not verify');
  });

  test('RS256 on an app that only allows HS256: 4009', async () => {
    await expectRefused(app, mint({ alg: 'RS256', privateKey: rsa.privateKey, claims: claimsFor(app) }), 'Token algorithm RS256 is not accepted by this app');
  });

  test('HS256 "signed" with the app\'s public key as HMAC secret (algorithm confusion): 4009', async () => {
    const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' });
    await expectRefused(rsApp, mint({ kid: rsApp.key, secret: pem, claims: claimsFor(rsApp) }), 'Token signature does not verify');
  });

  test('ES256 signed with the registered EC key: signed in', async () => {
    const claims = claimsFor(esApp);
    await expectSignedInAs(await connectWith(esApp, mint({ alg: 'ES256', privateKey: ec.privateKey, claims })), claims.sub);
  });

  test('HS256 on an ES256-only app, even correctly signed: 4009', async () => {
    await expectRefused(esApp, hs(esApp), 'Token algorithm HS256 is not accepted by this app');
  });

  test('wrong audience (another app id): 4009', async () => {
    await expectRefused(app, hs(app, { aud: rsApp.id }), 'Token audience is not this app: aud must be the app key or the app id');
  });

  test('tampered payload (sub changed, signature kept): 4009 signature', async () => {
    const [h, , s] = hs(app, { sub: 'alice' }).split('.');
    const forged = `${h}.${b64(JSON.stringify(claimsFor(app, { sub: 'admin' })))}.${s}`;
    await expectRefused(app, forged, 'Token signature does not verify');
  });

  test('not a JWT: 4009 malformed', async () => {
    for (const junk of ['abc', 'a.b.c', 'a.b', `${b64('{"alg":"HS256"')}.${b64('{}')}.x`]) {
      await expectRefused(app, junk, 'Token is not a JWT: expected header.payload.signature in base64url JSON');
    }
  });

  test('claims that are invalid: sub missing, channels not private/presence', async () => {
    const { sub, ...noSub } = claimsFor(app);
    await expectRefused(app, mint({ kid: app.key, secret: app.secret, claims: noSub }), 'Token sub must be a user id: 1-128 characters [A-Za-z0-9_-=@,.;]');
    await expectRefused(app, hs(app, { channels: ['orders'] }),
      'Token channels[0] must be a private-, presence- or private-encrypted- channel name (with * as a wildcard)');
  });

  test('revoked key: its tokens are refused at once, tokens of the other key still work', async () => {
    const extra = rtadmin(['key', 'create', app.id, '--json'], { RT_DATABASE_URL: db }).json();
    const claims = claimsFor(app);
    const token = mint({ kid: extra.key, secret: extra.secret, claims });
    await waitFor(async () => {
      const { closed } = await handshakeFailure(tokenUrl(app, token), {}, 300);
      return closed === null; // accepted once the new key reached the server
    }, 3000, 'the new key to be accepted');
    const revokedAt = Date.now();
    assert.equal(rtadmin(['key', 'revoke', extra.key], { RT_DATABASE_URL: db }).code, 0);
    await waitFor(async () => (await handshakeFailure(tokenUrl(app, token), {}, 1000)).closed?.code === 4009, 2000, 'refusal');
    assert.ok(Date.now() - revokedAt < 2000);
    await expectRefused(app, token, 'Token kid is not an active key of this app');
    const still = claimsFor(app);
    await expectSignedInAs(await connectWith(app, mint({ kid: app.key, secret: app.secret, claims: still })), still.sub);
  });
});

describe('revocation and keys', () => {
  test('key revoke --disconnect closes live connections whose token that key signed (4001)', async () => {
    const extra = rtadmin(['key', 'create', app.id, '--json'], { RT_DATABASE_URL: db }).json();
    const token = mint({ kid: extra.key, secret: extra.secret, claims: claimsFor(app) });
    const c = await waitFor(async () => {
      const { client, closed } = await (async () => {
        const client = new RawClient(tokenUrl(app, token));
        const closed = await Promise.race([client.closed, sleep(300).then(() => null)]);
        return { client, closed };
      })();
      if (closed) return null;
      return keep(client);
    }, 3000, 'the new key to be accepted');
    // The connection's URL names the app's first key; only its token was signed by `extra`.
    const bystander = await connectWith(app, hs(app));
    assert.equal(rtadmin(['key', 'revoke', extra.key, '--disconnect'], { RT_DATABASE_URL: db }).code, 0);
    const closed = await Promise.race([c.closed, sleep(3000).then(() => null)]);
    assert.deepEqual(closed, { code: 4001, reason: 'Application key revoked' });
    assert.equal((await bystander.ping()).event, 'pusher:pong');
  });

  test('a plain key revoke ends the grants of tokens it signed; the connection stays', async () => {
    const extra = rtadmin(['key', 'create', app.id, '--json'], { RT_DATABASE_URL: db }).json();
    const claims = claimsFor(app, { channels: ['private-revoked-*'] });
    const token = mint({ kid: extra.key, secret: extra.secret, claims });
    const c = await waitFor(async () => {
      const client = new RawClient(tokenUrl(app, token));
      const closed = await Promise.race([client.closed, sleep(300).then(() => null)]);
      return closed ? null : keep(client);
    }, 3000, 'the new key to be accepted');
    await c.next((m) => m.event === 'pusher:connection_established');
    assert.equal((await c.subscribe('private-revoked-1')).event, 'pusher_internal:subscription_succeeded');
    assert.equal(rtadmin(['key', 'revoke', extra.key], { RT_DATABASE_URL: db }).code, 0);
    await waitFor(async () => (await c.subscribe(`private-revoked-${uid('x')}`)).event === 'pusher:subscription_error', 2000, 'grant to end');
    assert.equal((await c.ping()).event, 'pusher:pong');
    await expectSignedInAs(c, claims.sub);
  });

  test('typ other than JWT: 4009 malformed', async () => {
    await expectRefused(app, mint({ kid: app.key, secret: app.secret, claims: claimsFor(app), header: { typ: 'at+jwt' } }),
      'Token typ must be JWT when present');
  });

  test('RS256 allowed but no public key registered: 4009 naming the fix', async () => {
    const bare = createApp(db, ['--jwt-algorithms', 'RS256'], 'rs-no-key');
    await waitFor(async () => (await handshakeFailure(wsUrl(server, bare.key), {}, 300)).closed === null, 3000, 'app loaded');
    await expectRefused(bare, mint({ alg: 'RS256', privateKey: rsa.privateKey, claims: claimsFor(bare) }),
      'Token algorithm RS256 needs a public key registered on the app (rtadmin app update --jwt-public-key)');
  });

  test('--jwt-algorithms "" accepts no tokens, connections without one still work', async () => {
    const none = createApp(db, ['--jwt-algorithms', ''], 'no-tokens');
    await waitFor(async () => (await handshakeFailure(wsUrl(server, none.key), {}, 300)).closed === null, 3000, 'app loaded');
    await expectRefused(none, hs(none), 'Token algorithm HS256 is not accepted by this app');
  });
});

describe('apps that require a token', () => {
  test('no token: 4009 "This app requires a connection token"', async () => {
    const { closed, messages } = await handshakeFailure(wsUrl(server, strictApp.key));
    const message = 'This app requires a connection token: connect with ?token=...';
    assert.deepEqual(messages, [{ event: 'pusher:error', data: { code: 4009, message } }]);
    assert.deepEqual(closed, { code: 4009, reason: message });
  });

  test('an invalid token: 4009 with its reason', async () => {
    await expectRefused(strictApp, hs(strictApp, { exp: now() - 100 }), 'Token expired');
  });

  test('a valid token: connected', async () => {
    const claims = claimsFor(strictApp);
    await expectSignedInAs(await connectWith(strictApp, mint({ kid: strictApp.key, secret: strictApp.secret, claims })), claims.sub);
  });
});

describe('channels granted by the token', () => {
  test('a channel granted by glob joins without auth; presence member = sub + token user_info', async () => {
    const room = `presence-room-${uid('r')}`;
    const claims = claimsFor(app, { channels: ['private-a', 'presence-room-*'], user_info: { name: 'Ada' } });
    const c = await connectWith(app, mint({ kid: app.key, secret: app.secret, claims }));
    const m = await c.subscribe(room);
    assert.equal(m.event, 'pusher_internal:subscription_succeeded');
    assert.deepEqual(JSON.parse(m.data).presence, { ids: [claims.sub], hash: { [claims.sub]: { name: 'Ada' } }, count: 1 });
    // A second member sees the first one's token identity.
    const other = claimsFor(app, { channels: [room] });
    const c2 = await connectWith(app, mint({ kid: app.key, secret: app.secret, claims: other }));
    const m2 = await c2.subscribe(room);
    assert.deepEqual(JSON.parse(m2.data).presence.hash, { [claims.sub]: { name: 'Ada' }, [other.sub]: null });
    const added = await c.next((x) => x.event === 'pusher_internal:member_added');
    assert.deepEqual(JSON.parse(added.data), { user_id: other.sub, user_info: null });
  });

  test('exact names and private-encrypted- globs are granted too', async () => {
    const c = await connectWith(app, hs(app, { channels: ['private-a', 'private-encrypted-*'] }));
    assert.equal((await c.subscribe('private-a')).event, 'pusher_internal:subscription_succeeded');
    assert.equal((await c.subscribe('private-encrypted-x1')).event, 'pusher_internal:subscription_succeeded');
  });

  test('a channel not granted needs the normal auth: AuthError without it, subscribed with it', async () => {
    const c = await connectWith(app, hs(app, { channels: ['private-a'] }));
    const refused = await c.subscribe('private-b');
    assert.equal(refused.event, 'pusher:subscription_error');
    assert.deepEqual(refused.data, { type: 'AuthError', error: 'Missing or malformed auth: expected "key:signature"', status: 401 });
    const auth = `${app.key}:${createHmac('sha256', app.secret).update(`${c.socketId}:private-b`).digest('hex')}`;
    assert.equal((await c.subscribe('private-b', { auth })).event, 'pusher_internal:subscription_succeeded');
  });

  test('grants end when the token expires (after the leeway), the connection stays', async () => {
    // exp 26 s ago: accepted now (30 s leeway), expired 5 s from now.
    const c = await connectWith(app, hs(app, { iat: now() - 100, exp: now() - 26, channels: ['private-late-*'] }));
    assert.equal((await c.subscribe('private-late-1')).event, 'pusher_internal:subscription_succeeded');
    await sleep(6000);
    const m = await c.subscribe('private-late-2');
    assert.equal(m.event, 'pusher:subscription_error');
    assert.equal((await c.ping()).event, 'pusher:pong');
  });

  test('pusher-js connected with a token joins a granted presence channel without signing anything', async () => {
    const claims = claimsFor(app, { channels: ['presence-js-*'], user_info: { via: 'token' } });
    const token = mint({ kid: app.key, secret: app.secret, claims });
    // pusher-js has no option for extra query parameters: append the token to its URL.
    const create = PusherJs.Runtime.createWebSocket;
    PusherJs.Runtime.createWebSocket = (url) => create.call(PusherJs.Runtime, `${url}&token=${encodeURIComponent(token)}`);
    let p;
    try {
      // The authorizer signs nothing: the server takes the member from the token, whatever
      // channel_data says (pusher-js needs one to know its own id).
      p = keep(pusherClient(server, app, {
        authorize: () => ({ auth: '', channel_data: JSON.stringify({ user_id: claims.sub, user_info: { forged: true } }) }),
      }));
      await connected(p);
    } finally {
      PusherJs.Runtime.createWebSocket = create;
    }
    const data = await subscribed(p, `presence-js-${uid('r')}`);
    assert.deepEqual(data.me, { id: claims.sub, info: { via: 'token' } });
  });
});

describe('pusher:signin with a token', () => {
  async function signin(c, token) {
    const from = c.messages.length;
    c.send({ event: 'pusher:signin', data: { token } });
    return c.next((m) => m.event === 'pusher:signin_success' || m.event === 'pusher:error', 3000, from);
  }

  test('signs in as sub and answers signin_success with user_data {id, user_info}', async () => {
    const c = keep(await RawClient.connect(wsUrl(server, app.key)));
    const claims = claimsFor(app, { user_info: { name: 'Ada' }, channels: ['private-s-*'] });
    const m = await signin(c, mint({ kid: app.key, secret: app.secret, claims }));
    assert.deepEqual(m, { event: 'pusher:signin_success', data: { user_data: JSON.stringify({ id: claims.sub, user_info: { name: 'Ada' } }) } });
    await expectSignedInAs(c, claims.sub);
    assert.equal((await c.subscribe('private-s-1')).event, 'pusher_internal:subscription_succeeded');
  });

  test('works on apps with --user-auth too, next to auth/user_data sign-ins', async () => {
    const c = keep(await RawClient.connect(wsUrl(server, userAuthApp.key)));
    const m = await signin(c, hs(userAuthApp, { sub: 'ua1' }));
    assert.equal(m.event, 'pusher:signin_success');
  });

  test('the token of the handshake user again: signin_success (pusher-js signin() after a token connect)', async () => {
    const claims = claimsFor(app);
    const token = mint({ kid: app.key, secret: app.secret, claims });
    const c = await connectWith(app, token);
    assert.equal((await signin(c, token)).event, 'pusher:signin_success');
  });

  test('watchlist claim: online/offline events like a signed user_data watchlist', async () => {
    const watched = uid('w');
    const watcher = keep(await RawClient.connect(wsUrl(server, app.key)));
    const m = await signin(watcher, hs(app, { watchlist: [watched] }));
    assert.equal(m.event, 'pusher:signin_success');
    const state = await watcher.next((x) => x.event === 'pusher_internal:watchlist_events');
    assert.deepEqual(JSON.parse(state.data), { events: [{ name: 'offline', user_ids: [watched] }] });
    const from = watcher.messages.length;
    await connectWith(app, hs(app, { sub: watched }));
    const online = await watcher.next((x) => x.event === 'pusher_internal:watchlist_events', 3000, from);
    assert.deepEqual(JSON.parse(online.data), { events: [{ name: 'online', user_ids: [watched] }] });
  });

  test('an invalid token in pusher:signin: pusher:error 4009 and close', async () => {
    const c = keep(await RawClient.connect(wsUrl(server, app.key)));
    const m = await signin(c, hs(app, { exp: now() - 100 }));
    assert.deepEqual(m, { event: 'pusher:error', data: { code: 4009, message: 'Token expired' } });
    const closed = await Promise.race([c.closed, sleep(3000).then(() => null)]);
    assert.deepEqual(closed, { code: 4009, reason: 'Token expired' });
  });

  test('a token for another user than the signed-in one: 4009', async () => {
    const c = await connectWith(app, hs(app, { sub: 'first-user' }));
    const m = await signin(c, hs(app, { sub: 'second-user' }));
    assert.deepEqual(m, { event: 'pusher:error', data: { code: 4009, message: 'Already signed in as a different user' } });
  });

  test('a token that is not a string, or longer than 8192 bytes: 4009', async () => {
    const c = keep(await RawClient.connect(wsUrl(server, app.key)));
    const m = await signin(c, 42);
    assert.deepEqual(m, { event: 'pusher:error', data: { code: 4009, message: 'Invalid pusher:signin: auth and user_data strings, or a token string, are required' } });
    const c2 = keep(await RawClient.connect(wsUrl(server, app.key)));
    const m2 = await signin(c2, `${hs(app)}${'A'.repeat(8192)}`);
    assert.deepEqual(m2, { event: 'pusher:error', data: { code: 4009, message: 'Token is longer than 8192 bytes' } });
  });
});

describe('apps with --authorized-connections', () => {
  test('a handshake token counts as signed in: the socket outlives RT_AUTHORIZE_TIMEOUT', async () => {
    const authApp = createApp(db, ['--authorized-connections'], 'authorized');
    const quick = await startServer({ dbUrl: db, env: { RT_AUTHORIZE_TIMEOUT: '1' } });
    try {
      const url = (token) => `ws://${quick.host}:${quick.port}/app/${authApp.key}?protocol=7${token ? `&token=${token}` : ''}`;
      const withToken = await RawClient.connect(url(hs(authApp)));
      const without = await RawClient.connect(url(''));
      const closed = await Promise.race([without.closed, sleep(3000).then(() => null)]);
      assert.equal(closed?.code, 4009);
      assert.equal((await withToken.ping()).event, 'pusher:pong');
      withToken.close();
    } finally {
      await quick.stop();
    }
  });
});

describe('two nodes over Redis', { timeout: 60000 }, () => {
  let redis, a, b;
  before(async () => {
    const port = await freePort();
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const redisUrl = `redis://127.0.0.1:${port}`;
    await waitFor(() => new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
      c.on('error', () => resolve(false));
    }), 5000, 'redis to listen');
    a = await startServer({ dbUrl: db, redisUrl, env: { RT_NODE_ID: '200001' } });
    b = await startServer({ dbUrl: db, redisUrl, env: { RT_NODE_ID: '200002' } });
    await waitFor(async () => (await (await fetch(`${a.url}/health`)).json()).redis === 'connected'
      && (await (await fetch(`${b.url}/health`)).json()).redis === 'connected', 5000, 'both nodes on Redis');
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    redis?.kill();
  });
  const on = (node, token) => `ws://${node.host}:${node.port}/app/${app.key}?protocol=7&token=${token}`;

  test('a token user on one node is online for a token watchlist on the other; granted presence spans nodes', async () => {
    const watched = uid('cw');
    const room = `presence-room-${uid('c')}`;
    const watcherClaims = claimsFor(app, { watchlist: [watched], channels: ['presence-room-*'], user_info: { node: 'a' } });
    const watcherToken = mint({ kid: app.key, secret: app.secret, claims: watcherClaims });
    const watcher = keep(await RawClient.connect(on(a, watcherToken)));
    // pusher:signin with the same token: signin_success and the initial watchlist state
    const from = watcher.messages.length;
    watcher.send({ event: 'pusher:signin', data: { token: watcherToken } });
    const state = await watcher.next((m) => m.event === 'pusher_internal:watchlist_events', 3000, from);
    assert.deepEqual(JSON.parse(state.data), { events: [{ name: 'offline', user_ids: [watched] }] });
    assert.equal((await watcher.subscribe(room)).event, 'pusher_internal:subscription_succeeded');
    const mark = watcher.messages.length;
    const userClaims = claimsFor(app, { sub: watched, channels: [room], user_info: { node: 'b' } });
    const user = keep(await RawClient.connect(on(b, mint({ kid: app.key, secret: app.secret, claims: userClaims }))));
    const online = await watcher.next((m) => m.event === 'pusher_internal:watchlist_events', 5000, mark);
    assert.deepEqual(JSON.parse(online.data), { events: [{ name: 'online', user_ids: [watched] }] });
    const joined = await user.subscribe(room);
    assert.deepEqual(JSON.parse(joined.data).presence.hash, { [watcherClaims.sub]: { node: 'a' }, [watched]: { node: 'b' } });
    const added = await watcher.next((m) => m.event === 'pusher_internal:member_added' && JSON.parse(m.data).user_id === watched, 5000, mark);
    assert.deepEqual(JSON.parse(added.data), { user_id: watched, user_info: { node: 'b' } });
  });
});

describe('security log and metrics', () => {
  test('each rejection counts in rt_token_rejected_total{reason}; log lines name app and reason, never the token', async () => {
    const before = await metrics();
    const expired = hs(app, { exp: now() - 100 });
    const forged = mint({ kid: app.key, secret: 'nope', claims: claimsFor(app) });
    await expectRefused(app, expired, 'Token expired');
    await expectRefused(app, forged, 'Token signature does not verify');
    await handshakeFailure(wsUrl(server, strictApp.key));
    const after = await metrics();
    for (const [reason, n] of [['expired', 1], ['signature', 1], ['missing', 1]]) {
      const name = `rt_token_rejected_total{reason="${reason}"}`;
      assert.equal(metric(after, name) - metric(before, name), n, name);
    }
    assert.match(after, /^# TYPE rt_token_rejected_total counter$/m);
    const logs = server.logs();
    assert.match(logs, new RegExp(`warn  token rejected app=${app.id} reason=expired at=handshake: Token expired`));
    assert.match(logs, new RegExp(`warn  token rejected app=${strictApp.id} reason=missing at=handshake`));
    for (const t of [expired, forged]) {
      for (const part of t.split('.')) assert.ok(!logs.includes(part), 'a token part reached the log');
    }
    assert.ok(!logs.includes(app.secret));
  });

  test('a flood of bad tokens is counted in full but logged at most 10 lines a second', async () => {
    await sleep(1100);
    const before = metric(await metrics(), 'rt_token_rejected_total{reason="audience"}');
    const linesBefore = server.logs().split('\n').filter((l) => l.includes('reason=audience')).length;
    const bad = hs(app, { aud: 'elsewhere' });
    await Promise.all(Array.from({ length: 40 }, () => handshakeFailure(tokenUrl(app, bad))));
    assert.equal(metric(await metrics(), 'rt_token_rejected_total{reason="audience"}') - before, 40);
    const logged = server.logs().split('\n').filter((l) => l.includes('reason=audience')).length - linesBefore;
    assert.ok(logged >= 1 && logged <= 20, `${logged} log lines for 40 rejections`);
  });
});
