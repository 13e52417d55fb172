// Keeps docs/rest-api.md true: runs docs/examples/rest-curl.sh (curl + openssl + md5sum)
// against a live server and checks every documented response.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { createDatabase, createApp, startServer, waitFor, SOURCE_DIR } from '../harness/index.mjs';
import { connectClient, subscribe, eventsOf } from './rest_helpers.mjs';

const SCRIPT = path.join(SOURCE_DIR, 'docs/examples/rest-curl.sh');
const DOC = readFileSync(path.join(SOURCE_DIR, 'docs/rest-api.md'), 'utf8');

/** The first ```sh block of docs/rest-api.md that contains `marker`. */
function shellBlock(marker) {
  const block = [...DOC.matchAll(/```sh\n([^]*?)```/g)].map((m) => m[1]).find((b) => b.includes(marker));
  assert.ok(block, `no sh block with ${marker} in docs/rest-api.md`);
  return block;
}
let server, prefixed, app;
const clients = [];

function runScript(srv, args = [], env = {}) {
  const r = spawnSync('sh', [SCRIPT, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, APP_ID: app.id, KEY: app.key, SECRET: app.secret, HOST: `${srv.host}:${srv.port}`, ...env },
  });
  assert.equal(r.status, 0, `script failed: ${r.stderr}`);
  return r.stdout;
}

/** "label STATUS JSON" lines → {label: {status, body}}. */
function parse(out) {
  const results = {};
  for (const line of out.trim().split('\n')) {
    const m = /^(\S+) (\d{3}) (.*)$/.exec(line);
    assert.ok(m, `unexpected output line: ${line}`);
    results[m[1]] = { status: Number(m[2]), body: JSON.parse(m[3]) };
  }
  return results;
}

before(async () => {
  const db = createDatabase();
  app = createApp(db, ['--subscription-count']);
  [server, prefixed] = await Promise.all([
    startServer({ dbUrl: db }),
    startServer({ dbUrl: db, env: { RT_PATH_PREFIX: '/realtime' } }),
  ]);
});

after(async () => {
  for (const c of clients) c.disconnect();
  await Promise.all([server?.stop(), prefixed?.stop()]);
});

test('every example of rest-curl.sh gets the response documented in docs/rest-api.md', async () => {
  const c = await connectClient(server, app, { presence: { user_id: 'u1', user_info: { name: 'Ada' } } });
  clients.push(c);
  await subscribe(c, 'my-channel');
  await subscribe(c, 'presence-room');

  const results = parse(runScript(server));
  assert.deepEqual(results, {
    trigger: { status: 200, body: {} },
    'trigger-info': { status: 200, body: { channels: { 'my-channel': { subscription_count: 1 }, 'presence-room': { user_count: 1, subscription_count: 1 } } } },
    batch: { status: 200, body: {} },
    channels: { status: 200, body: { channels: { 'my-channel': {}, 'presence-room': {} } } },
    'channels-presence': { status: 200, body: { channels: { 'presence-room': { user_count: 1 } } } },
    channel: { status: 200, body: { occupied: true, subscription_count: 1 } },
    users: { status: 200, body: { users: [{ id: 'u1' }] } },
    terminate: { status: 200, body: {} },
    'bad-signature': { status: 401, body: { error: 'Invalid auth_signature' } },
  });

  // The triggers reached a real pusher-js subscriber.
  await waitFor(() => eventsOf(c, 'my-channel', 'greeting').length === 2 && eventsOf(c, 'my-channel', 'a').length === 1,
    3000, 'events from the curl examples');
  assert.deepEqual(eventsOf(c, 'my-channel', 'greeting')[0].data, { message: 'hello' });
  assert.equal(eventsOf(c, 'my-channel', 'a')[0].data, 1);
});

test('the shell signature reproduces the worked example of the docs', () => {
  const r = spawnSync('sh', [SCRIPT, '--url', 'POST', '/events', '{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, APP_ID: '3', KEY: '278d425bdf160c739803', SECRET: '7ad3773142a6692b25b8', HOST: 'api.example.com', AUTH_TIMESTAMP: '1353088179' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(),
    'http://api.example.com/apps/3/events?auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0' +
    '&body_md5=ec365a775a4cd0599faeb73354201b6f&auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c');
});

test('rest-curl.sh with PREFIX calls a server started with RT_PATH_PREFIX', () => {
  assert.equal(runScript(prefixed, ['GET', '/channels'], { PREFIX: '/realtime' }).trim(), '200 {"channels":{}}');
  assert.equal(runScript(prefixed, ['POST', '/events', '{"name":"e","channel":"c","data":"{}"}'], { PREFIX: '/realtime' }).trim(), '200 {}');
});

test('the worked-example shell snippet in docs/rest-api.md prints the documented digests', () => {
  const r = spawnSync('sh', ['-c', shellBlock('openssl dgst -sha256 -hmac 7ad3773142a6692b25b8')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'ec365a775a4cd0599faeb73354201b6f\nSHA2-256(stdin)= da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c\n');
});

test('the pasteable signed_url function in docs/rest-api.md triggers successfully', async () => {
  const c = await connectClient(server, app);
  clients.push(c);
  await subscribe(c, 'my-channel');
  const before = eventsOf(c, 'my-channel', 'greeting').length;
  const r = spawnSync('sh', ['-c', shellBlock('signed_url()')], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, APP_ID: app.id, KEY: app.key, SECRET: app.secret, HOST: `${server.host}:${server.port}` },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '{}');
  await waitFor(() => eventsOf(c, 'my-channel', 'greeting').length === before + 1, 3000, 'greeting from the snippet');
});
