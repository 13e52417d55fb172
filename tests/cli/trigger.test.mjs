// rtadmin trigger: a signed POST /apps/{id}/events, checked by an independent verifier here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import { RTADMIN, MASTER_KEY, freePort } from '../harness/index.mjs';
import { freshDatabase, ok } from './cli-helpers.mjs';

/** rtadmin must run asynchronously here: the fake server lives in this process. */
function runAsync(args, env) {
  return new Promise((resolve) => {
    const p = spawn(RTADMIN, args, { env: { PATH: process.env.PATH, USER: 'tester', RT_MASTER_KEY: MASTER_KEY, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A fake REST endpoint that records requests and answers with status/body. */
async function fakeServer(status, body) {
  const requests = [];
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (d) => (data += d));
    req.on('end', () => {
      requests.push({ method: req.method, url: new URL(req.url, 'http://x'), body: data, type: req.headers['content-type'] });
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(body);
    });
  });
  const port = await freePort();
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(r)) };
}

/** Pusher's signature check (PROTOCOL.md §14.2), written independently of the C code. */
function expectedSignature(method, path, params, secret) {
  const query = [...params.entries()].filter(([k]) => k !== 'auth_signature')
    .map(([k, v]) => [k.toLowerCase(), v]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`).join('&');
  return createHmac('sha256', secret).update(`${method}\n${path}\n${query}`).digest('hex');
}

test('trigger_posts_a_correctly_signed_event_and_prints_the_answer', async () => {
  const { url: dbUrl, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--id', '31', '--json'])).json();
  const server = await fakeServer(200, '{}');
  try {
    const r = await runAsync(['trigger', '31', 'my-channel', 'my-event', '{"hello":"world"}', '--server', `${server.url}/`],
      { RT_DATABASE_URL: dbUrl });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'HTTP 200\n{}\n');
    assert.equal(server.requests.length, 1);
    const req = server.requests[0];
    assert.equal(req.method, 'POST');
    assert.equal(req.url.pathname, '/apps/31/events');
    assert.equal(req.type, 'application/json');
    assert.deepEqual(JSON.parse(req.body), { name: 'my-event', channels: ['my-channel'], data: '{"hello":"world"}' });
    const q = req.url.searchParams;
    assert.equal(q.get('auth_key'), app.key);
    assert.equal(q.get('auth_version'), '1.0');
    assert.ok(Math.abs(Number(q.get('auth_timestamp')) - Date.now() / 1000) < 60);
    assert.equal(q.get('body_md5'), createHash('md5').update(req.body).digest('hex'));
    assert.equal(q.get('auth_signature'), expectedSignature('POST', '/apps/31/events', q, app.secret));
  } finally {
    await server.close();
  }
});

test('trigger_uses_RT_SERVER_URL_the_newest_key_and_prints_json', async () => {
  const { url: dbUrl, run } = freshDatabase();
  ok(run(['app', 'create', '--name', 'chat', '--id', '32']));
  const newer = ok(run(['key', 'rotate', '32', '--json'])).json();
  const server = await fakeServer(200, '{"channels":{}}');
  try {
    const r = await runAsync(['trigger', '32', 'c', 'e', 'd', '--json'], { RT_DATABASE_URL: dbUrl, RT_SERVER_URL: server.url });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { status: 200, body: { channels: {} } });
    const q = server.requests[0].url.searchParams;
    assert.equal(q.get('auth_key'), newer.key);
    assert.equal(q.get('auth_signature'), expectedSignature('POST', '/apps/32/events', q, newer.secret));
  } finally {
    await server.close();
  }
});

test('trigger_exits_1_when_the_server_answers_non_2xx', async () => {
  const { url: dbUrl, run } = freshDatabase();
  ok(run(['app', 'create', '--name', 'chat', '--id', '33']));
  const server = await fakeServer(401, '{"error":"Invalid signature"}');
  try {
    const r = await runAsync(['trigger', '33', 'c', 'e', 'd', '--server', server.url], { RT_DATABASE_URL: dbUrl });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'HTTP 401\n{"error":"Invalid signature"}\n');
    assert.equal(r.stderr, 'rtadmin: the server answered HTTP 401\n');
  } finally {
    await server.close();
  }
});

test('trigger_with_unreachable_server_or_unknown_app_exits_1', async () => {
  const { url: dbUrl, run } = freshDatabase();
  ok(run(['app', 'create', '--name', 'chat', '--id', '34']));
  const port = await freePort();
  const down = await runAsync(['trigger', '34', 'c', 'e', 'd', '--server', `http://127.0.0.1:${port}`], { RT_DATABASE_URL: dbUrl });
  assert.equal(down.code, 1);
  assert.match(down.stderr, new RegExp(`^rtadmin: cannot reach the server at http://127\\.0\\.0\\.1:${port}: .+ \\(is rtserver running\\? set --server or RT_SERVER_URL\\)\\n$`));
  const unknown = await runAsync(['trigger', '999', 'c', 'e', 'd'], { RT_DATABASE_URL: dbUrl });
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr, "rtadmin: no app with id '999' (see: rtadmin app list)\n");
  const badServer = await runAsync(['trigger', '34', 'c', 'e', 'd', '--server', 'ftp://x'], { RT_DATABASE_URL: dbUrl });
  assert.equal(badServer.code, 2);
  assert.equal(badServer.stderr, "rtadmin: --server must be an http:// or https:// URL, not 'ftp://x' (see: rtadmin trigger --help)\n");
});

test('trigger_with_only_revoked_keys_says_how_to_fix_it', async () => {
  const { url: dbUrl, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--id', '35', '--json'])).json();
  ok(run(['key', 'revoke', app.key]));
  const r = await runAsync(['trigger', '35', 'c', 'e', 'd'], { RT_DATABASE_URL: dbUrl });
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'rtadmin: app 35 has no active key (create one with: rtadmin key create 35)\n');
});

test('trigger_with_data_that_is_not_utf8_says_so_and_sends_nothing', async () => {
  const { url: dbUrl, run } = freshDatabase();
  ok(run(['app', 'create', '--name', 'chat', '--id', '36']));
  const server = await fakeServer(200, '{}');
  try {
    // A byte 0xff cannot be passed through spawn's (UTF-8) strings: the shell writes it.
    const r = await new Promise((resolve) => {
      const p = spawn('/bin/sh', ['-c', `exec "$0" trigger 36 c e "$(printf '\\377')" --server "$1"`, RTADMIN, server.url],
        { env: { PATH: process.env.PATH, USER: 'tester', RT_MASTER_KEY: MASTER_KEY, RT_DATABASE_URL: dbUrl } });
      let stderr = '';
      p.stderr.on('data', (d) => (stderr += d));
      p.on('close', (code) => resolve({ code, stderr }));
    });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'rtadmin: the event name, channel and data must be valid UTF-8\n');
    assert.equal(server.requests.length, 0);
  } finally {
    await server.close();
  }
});
