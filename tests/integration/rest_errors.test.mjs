// Every error status of the HTTP API with its exact JSON body, using raw signed requests
// (rest_helpers.mjs implements PROTOCOL.md §14.2 independently of the SDKs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, createApp, startServer, rtadmin, waitFor } from '../harness/index.mjs';
import { signedRequest, httpRequest, nowSeconds, signParams, encodeQuery, restClient, sdkError, rawSocket, readUntilClose } from './rest_helpers.mjs';

let db, server, app, other;

before(async () => {
  db = createDatabase();
  app = createApp(db, [], 'errors-app');
  other = createApp(db, [], 'other-app');
  server = await startServer({ dbUrl: db });
});

after(async () => {
  await server?.stop();
});

const event = (extra = {}) => ({ name: 'e', channels: ['errors'], data: '{}', ...extra });

/** Asserts status, a JSON content type and the exact {"error": ...} body. */
function assertError(res, status, message) {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers['content-type'], /^application\/json/);
  assert.deepEqual(res.json, { error: message });
}

// ---- 401: authentication ---------------------------------------------------------------

test('a request signed with the wrong secret is refused with 401 Invalid auth_signature', async () => {
  assertError(await signedRequest(server, app, { path: '/events', body: event(), secret: 'not-the-secret' }),
    401, 'Invalid auth_signature');
});

test('a tampered auth_signature is refused with 401', async () => {
  assertError(await signedRequest(server, app, { path: '/channels', override: { auth_signature: '0'.repeat(64) } }),
    401, 'Invalid auth_signature');
});

test('a signature over a different path is refused with 401', async () => {
  assertError(await signedRequest(server, app, { path: '/channels', signedPath: `/apps/${app.id}/channels/x` }),
    401, 'Invalid auth_signature');
});

test('a query parameter added after signing is refused with 401', async () => {
  assertError(await signedRequest(server, app, { path: '/channels', override: { filter_by_prefix: 'x' } }),
    401, 'Invalid auth_signature');
});

const STALE = 'auth_timestamp is more than 600 s from server time; check the client clock';

test('auth_timestamp 601 s in the past is refused with 401', async () => {
  assertError(await signedRequest(server, app, { path: '/channels', timestamp: nowSeconds() - 601 }), 401, STALE);
});

test('auth_timestamp 601 s in the future is refused with 401', async () => {
  assertError(await signedRequest(server, app, { path: '/channels', timestamp: nowSeconds() + 601 }), 401, STALE);
});

test('auth_timestamp 590 s off is still accepted', async () => {
  assert.equal((await signedRequest(server, app, { path: '/channels', timestamp: nowSeconds() - 590 })).status, 200);
  assert.equal((await signedRequest(server, app, { path: '/channels', timestamp: nowSeconds() + 590 })).status, 200);
});

test('a non-numeric auth_timestamp is refused with 401', async () => {
  assertError(await signedRequest(server, app, { path: '/channels', timestamp: 'yesterday' }),
    401, 'auth_timestamp must be a Unix time in seconds');
});

test('a body_md5 that does not match the body is refused with 401', async () => {
  assertError(await signedRequest(server, app, { path: '/events', body: event(), params: { body_md5: 'd41d8cd98f00b204e9800998ecf8427e' } }),
    401, 'body_md5 does not match the request body');
});

test('a request without any auth parameters is refused with 401 Missing auth_key', async () => {
  assertError(await httpRequest(server, { path: `/apps/${app.id}/channels` }), 401, 'Missing auth_key in query string');
});

test('a request without auth_signature is refused with 401', async () => {
  assertError(await signedRequest(server, app, { path: '/channels', omit: ['auth_signature'] }),
    401, 'Missing auth_signature in query string');
});

test('a request without auth_timestamp is refused with 401', async () => {
  assertError(await signedRequest(server, app, { path: '/channels', omit: ['auth_timestamp'] }),
    401, 'Missing auth_timestamp in query string');
});

test('a request without auth_version is refused with 401', async () => {
  assertError(await signedRequest(server, app, { path: '/channels', omit: ['auth_version'] }),
    401, 'Missing auth_version in query string');
});

test('auth_version other than 1.0 is refused with 401', async () => {
  assertError(await signedRequest(server, app, { path: '/channels', params: { auth_version: '2.0' } }),
    401, 'Unsupported auth_version (expected 1.0)');
});

test('a POST with a body but without body_md5 is refused with 401', async () => {
  assertError(await signedRequest(server, app, { path: '/events', body: event(), omit: ['body_md5'] }),
    401, 'Missing body_md5 in query string');
});

test('an auth parameter given twice is refused with 401', async () => {
  const res = await signedRequest(server, app, { path: '/channels' });
  assert.equal(res.status, 200);
  // Same signed parameters, plus a second auth_key: ambiguous, so refused.
  const signed = signParams('GET', `/apps/${app.id}/channels`, { key: app.key, secret: app.secret });
  assertError(await httpRequest(server, { path: `/apps/${app.id}/channels`, query: `${encodeQuery(signed)}&auth_key=${other.key}` }),
    401, 'Repeated auth parameter in query string');
});

test('an auth_key that no app has is refused with 401 Unknown auth_key', async () => {
  assertError(await signedRequest(server, app, { path: '/channels', key: 'ffffffffffffffffffff' }), 401, 'Unknown auth_key');
});

test("another app's key and secret do not open this app: 401 Unknown auth_key", async () => {
  assertError(await signedRequest(server, app, { path: '/channels', key: other.key, secret: other.secret }),
    401, 'Unknown auth_key');
});

test('the `pusher` SDK surfaces a 401 as a RequestError with the JSON body', async () => {
  const wrong = restClient(server, { ...app, secret: 'wrong' });
  const err = await sdkError(wrong.trigger('errors', 'e', {}));
  assert.equal(err.status, 401);
  assert.deepEqual(err.json, { error: 'Invalid auth_signature' });
});

// ---- 404 / 405: routing ----------------------------------------------------------------

test('an unknown app id is refused with 404 before the signature is checked', async () => {
  assertError(await signedRequest(server, app, { path: '/channels', appId: '999999999' }), 404, 'Unknown app 999999999');
});

test('an unknown route under /apps/{id} is 404', async () => {
  assertError(await signedRequest(server, app, { path: '/nope' }), 404, 'Not found: no route /nope');
});

test('an unknown sub-route of a channel is 404', async () => {
  assertError(await signedRequest(server, app, { path: '/channels/x/members' }), 404, 'Not found: no route /channels/x/members');
});

test('a POST to an unknown route under /apps/{id} is 404, not 405', async () => {
  assertError(await signedRequest(server, app, { method: 'POST', path: '/event', body: '{}' }), 404, 'Not found: no route /event');
});

test('a path outside /apps/ is 404', async () => {
  assertError(await httpRequest(server, { path: '/v2/things' }), 404, 'Not found: the API lives under /apps/{app_id}/');
});

test('GET on /events is 405', async () => {
  assertError(await signedRequest(server, app, { method: 'GET', path: '/events' }), 405, 'Method GET not allowed on /events');
});

test('POST on /channels is 405', async () => {
  assertError(await signedRequest(server, app, { method: 'POST', path: '/channels', body: '{}' }),
    405, 'Method POST not allowed on /channels');
});

test('DELETE on /batch_events is 405', async () => {
  assertError(await signedRequest(server, app, { method: 'DELETE', path: '/batch_events' }),
    405, 'Method DELETE not allowed on /batch_events');
});

// ---- 400: bad requests -----------------------------------------------------------------

test('a body that is not JSON is 400', async () => {
  assertError(await signedRequest(server, app, { path: '/events', body: '{"name":' }),
    400, 'Invalid JSON body: expected an object with name, data, channels');
});

test('a JSON array body on /events is 400', async () => {
  assertError(await signedRequest(server, app, { path: '/events', body: '[]' }),
    400, 'Invalid JSON body: expected an object with name, data, channels');
});

test('a missing event name is 400', async () => {
  assertError(await signedRequest(server, app, { path: '/events', body: event({ name: undefined }) }),
    400, 'Missing event name: "name" must be a non-empty string');
});

test('an event name of 201 characters is 400', async () => {
  assertError(await signedRequest(server, app, { path: '/events', body: event({ name: 'n'.repeat(201) }) }),
    400, 'Event name too long: at most 200 characters');
});

test('missing data is 400', async () => {
  assertError(await signedRequest(server, app, { path: '/events', body: event({ data: undefined }) }), 400, 'Missing "data"');
});

test('neither channels nor channel is 400', async () => {
  assertError(await signedRequest(server, app, { path: '/events', body: event({ channels: undefined }) }),
    400, 'Missing "channels" (array) or "channel" (string)');
});

test('an empty channels array is 400', async () => {
  assertError(await signedRequest(server, app, { path: '/events', body: event({ channels: [] }) }),
    400, '"channels" must be a non-empty array of channel names');
});

test('an invalid channel name is 400 and names the channel', async () => {
  assertError(await signedRequest(server, app, { path: '/events', body: event({ channels: ['ok', 'bad:name'] }) }),
    400, 'Invalid channel name "bad:name"');
});

test('a channel name of 201 characters is 400', async () => {
  const long = 'c'.repeat(201);
  assertError(await signedRequest(server, app, { path: '/events', body: event({ channels: [long] }) }),
    400, `Invalid channel name "${long.slice(0, 64)}"`);
});

test('101 channels in one trigger is 400', async () => {
  const channels = Array.from({ length: 101 }, (_, i) => `ch-${i}`);
  assertError(await signedRequest(server, app, { path: '/events', body: event({ channels }) }),
    400, 'Too many channels: at most 100 per event');
});

test('100 channels in one trigger is accepted', async () => {
  const channels = Array.from({ length: 100 }, (_, i) => `ch-${i}`);
  const res = await signedRequest(server, app, { path: '/events', body: event({ channels }) });
  assert.equal(res.status, 200);
  assert.deepEqual(res.json, {});
});

test('an encrypted channel together with others is 400', async () => {
  assertError(await signedRequest(server, app, { path: '/events', body: event({ channels: ['private-encrypted-x', 'plain'] }) }),
    400, 'Encrypted channels cannot be triggered together with others');
});

test('a malformed socket_id is 400', async () => {
  assertError(await signedRequest(server, app, { path: '/events', body: event({ socket_id: 'abc' }) }),
    400, 'Invalid socket_id: expected digits.digits');
});

test('an unknown info attribute on trigger is 400', async () => {
  assertError(await signedRequest(server, app, { path: '/events', body: event({ info: 'colour' }) }),
    400, 'Unknown info attribute "colour"');
});

test('info=subscription_count on a trigger is left out when the app has no --subscription-count', async () => {
  const res = await signedRequest(server, app, { path: '/events', body: event({ info: 'subscription_count' }) });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, { channels: { errors: {} } });
});

test('info=subscription_count on a channel is left out when the app has no --subscription-count', async () => {
  const res = await signedRequest(server, app, { path: '/channels/errors', params: { info: 'subscription_count' } });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, { occupied: false });
});

// ---- 413: sizes ------------------------------------------------------------------------

test('data of 10241 bytes is 413', async () => {
  assertError(await signedRequest(server, app, { path: '/events', body: event({ data: 'x'.repeat(10241) }) }),
    413, 'Event data too large: 10241 bytes, the limit is 10240');
});

test('the data limit counts UTF-8 bytes, not characters (5121 × "é" = 10242 bytes is 413)', async () => {
  assertError(await signedRequest(server, app, { path: '/events', body: event({ data: 'é'.repeat(5121) }) }),
    413, 'Event data too large: 10242 bytes, the limit is 10240');
});

test('the `pusher` SDK surfaces a 413 for oversized data as a RequestError', async () => {
  const err = await sdkError(restClient(server, app).trigger('errors', 'big', 'x'.repeat(10241)));
  assert.equal(err.status, 413);
  assert.deepEqual(err.json, { error: 'Event data too large: 10241 bytes, the limit is 10240' });
});

test('data of exactly 10240 bytes is accepted', async () => {
  const res = await signedRequest(server, app, { path: '/events', body: event({ data: 'x'.repeat(10240) }) });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, {});
});

test('a declared Content-Length above the body limit is refused with 413 without reading the body', async () => {
  const sock = await rawSocket(server);
  const done = readUntilClose(sock);
  // 2 MB declared (limit 1024 KB), nothing sent: the answer must not wait for the body.
  sock.write(`POST /apps/${app.id}/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n`);
  const { data, closedAfterMs } = await done;
  assert.match(data, /^HTTP\/1\.1 413 /);
  assert.ok(data.endsWith('{"error":"Request body too large"}'), data);
  assert.ok(closedAfterMs < 3000, `closed after ${closedAfterMs} ms`);
});

test('a POST with a chunked body (no Content-Length) is answered, not left hanging', async () => {
  // HTTP/1.1 servers must accept chunked request bodies or answer 411 Length Required.
  const body = JSON.stringify(event());
  const q = encodeQuery(signParams('POST', `/apps/${app.id}/events`, { key: app.key, secret: app.secret, body }));
  const sock = await rawSocket(server);
  const done = readUntilClose(sock);
  sock.write(`POST /apps/${app.id}/events?${q} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
  const timer = setTimeout(() => sock.destroy(), 5000);
  const { data } = await done;
  clearTimeout(timer);
  const m = /^HTTP\/1\.1 (\d{3}) [^]*\r\n\r\n([^]*)$/.exec(data);
  assert.ok(m, `no HTTP response within 5 s (got ${JSON.stringify(data)})`);
  if (m[1] === '200') assert.equal(m[2], '{}');
  else {
    assert.equal(m[1], '411');
    assert.equal(typeof JSON.parse(m[2]).error, 'string');
  }
});

// ---- 403 / 429: app state and limits ---------------------------------------------------

test('a disabled app answers 403 Application disabled, and works again once re-enabled', async () => {
  const target = createApp(db, [], 'to-disable');
  await waitFor(async () => (await signedRequest(server, target, { path: '/channels' })).status === 200, 5000, 'new app loaded');
  assert.equal(rtadmin(['app', 'disable', target.id], { RT_DATABASE_URL: db }).code, 0);
  await waitFor(async () => (await signedRequest(server, target, { path: '/channels' })).status === 403, 5000, 'app disabled');
  assertError(await signedRequest(server, target, { path: '/events', body: event() }), 403, 'Application disabled');
  assert.equal(rtadmin(['app', 'enable', target.id], { RT_DATABASE_URL: db }).code, 0);
  await waitFor(async () => (await signedRequest(server, target, { path: '/channels' })).status === 200, 5000, 'app enabled');
});

test('a disabled app still checks the signature first (401, not 403)', async () => {
  const target = createApp(db, [], 'disabled-unsigned');
  await waitFor(async () => (await signedRequest(server, target, { path: '/channels' })).status === 200, 5000, 'new app loaded');
  rtadmin(['app', 'disable', target.id], { RT_DATABASE_URL: db });
  await waitFor(async () => (await signedRequest(server, target, { path: '/channels' })).status === 403, 5000, 'app disabled');
  assertError(await signedRequest(server, target, { path: '/channels', secret: 'wrong' }), 401, 'Invalid auth_signature');
});

test('over --backend-events-per-second the trigger gets 429', async () => {
  const limited = createApp(db, ['--backend-events-per-second', '2'], 'slow-writer');
  await waitFor(async () => (await signedRequest(server, limited, { path: '/channels' })).status === 200, 5000, 'new app loaded');
  const statuses = [];
  let last;
  for (let i = 0; i < 5; i++) {
    last = await signedRequest(server, limited, { path: '/events', body: event() });
    statuses.push(last.status);
  }
  assert.deepEqual(statuses.slice(0, 2), [200, 200]);
  assert.deepEqual(statuses.slice(2), [429, 429, 429]);
  assertError(last, 429, 'Rate limit exceeded: at most 2 events per second');
});

test('over --read-requests-per-second the GET routes get 429', async () => {
  const limited = createApp(db, ['--read-requests-per-second', '2'], 'slow-reader');
  await waitFor(async () => (await signedRequest(server, limited, { path: '/channels' })).status !== 404, 5000, 'new app loaded');
  await new Promise((r) => setTimeout(r, 1100)); // refill after the probing above
  const responses = [];
  for (let i = 0; i < 5; i++) responses.push(await signedRequest(server, limited, { path: '/channels' }));
  assert.deepEqual(responses.map((r) => r.status), [200, 200, 429, 429, 429]);
  assertError(responses[4], 429, 'Rate limit exceeded: at most 2 read requests per second');
});
