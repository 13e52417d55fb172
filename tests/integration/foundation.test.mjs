// Foundation: configuration errors, app registry hot reload, PostgreSQL outages, the local
// run command and the compose file.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import Pusher from 'pusher-js';
import {
  RTSERVER, SOURCE_DIR, MASTER_KEY, createDatabase, createEmptyDatabase, createApp, rtadmin,
  startServer, pusherJsOptions, freePort, waitFor, sleep,
} from '../harness/index.mjs';
import { startPrivatePostgres } from '../harness/postgres.mjs';

function runServer(env, args = []) {
  const r = spawnSync(RTSERVER, args, {
    encoding: 'utf8', timeout: 20000,
    env: { PATH: process.env.PATH, RT_HOST: '127.0.0.1', ...env },
  });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

function connect(server, key, extra = {}) {
  const client = new Pusher(key, pusherJsOptions(server, extra));
  return client;
}

function connected(client) {
  return new Promise((resolve, reject) => {
    client.connection.bind('connected', () => resolve(client.connection.socket_id));
    client.connection.bind('failed', () => reject(new Error('connection failed')));
    client.connection.bind('error', (e) => reject(new Error(`connection error ${JSON.stringify(e?.data ?? e)}`)));
  });
}

/** Resolves with the first pusher:error as {data: {code, message}}. After the handshake
 *  pusher-js emits it as is; during the handshake it wraps it in a WebSocketError. */
function pusherError(client, ms = 3000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no pusher:error within the time limit')), ms);
    client.connection.bind('error', (e) => {
      const data = e?.data?.code ? e.data : e?.error?.data;
      if (data?.code) { clearTimeout(t); resolve({ data }); }
    });
  });
}

describe('configuration errors are one clear line and a non-zero exit', () => {
  let db;
  before(() => { db = createDatabase(); });

  test('missing RT_DATABASE_URL names the setting', () => {
    const r = runServer({ RT_MASTER_KEY: MASTER_KEY });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'rtserver: RT_DATABASE_URL is not set (e.g. postgresql://user@127.0.0.1:5432/realtime)\n');
  });

  test('missing RT_MASTER_KEY names the setting', () => {
    const r = runServer({ RT_DATABASE_URL: db });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^rtserver: RT_MASTER_KEY .*\n$/);
  });

  test('malformed RT_MASTER_KEY names the setting', () => {
    const r = runServer({ RT_DATABASE_URL: db, RT_MASTER_KEY: 'abc' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^rtserver: RT_MASTER_KEY .*\n$/);
  });

  test('invalid RT_PORT names the setting and the range', () => {
    const r = runServer({ RT_DATABASE_URL: db, RT_MASTER_KEY: MASTER_KEY, RT_PORT: '70000' });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'rtserver: RT_PORT must be an integer from 1 to 65535 (got "70000")\n');
  });

  test('invalid RT_REDIS_URL names the setting', () => {
    const r = runServer({ RT_DATABASE_URL: db, RT_MASTER_KEY: MASTER_KEY, RT_REDIS_URL: 'http://x' });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'rtserver: RT_REDIS_URL must look like redis://host:port (got "http://x")\n');
  });

  test('unknown command-line flag is refused', () => {
    const r = runServer({ RT_DATABASE_URL: db, RT_MASTER_KEY: MASTER_KEY }, ['--bogus']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'rtserver: unknown option "--bogus" (see rtserver --help)\n');
  });

  test('--help documents every RT_* setting', () => {
    const r = runServer({}, ['--help']);
    assert.equal(r.code, 0);
    for (const name of ['RT_DATABASE_URL', 'RT_REDIS_URL', 'RT_MASTER_KEY', 'RT_HOST', 'RT_PORT', 'RT_PATH_PREFIX'])
      assert.ok(r.stdout.includes(name), name);
  });

  test('a wrong master key is reported clearly at start', () => {
    createApp(db, [], 'sealed');
    const other = 'ff'.repeat(32);
    const r = runServer({ RT_DATABASE_URL: db, RT_MASTER_KEY: other, RT_PORT: '1' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^rtserver: RT_MASTER_KEY cannot decrypt the secret of key [0-9a-f]+ of app \d+ \(wrong master key\?\)\n$/);
  });

  test('an unmigrated database is reported clearly at start', () => {
    const empty = createEmptyDatabase();
    const r = runServer({ RT_DATABASE_URL: empty, RT_MASTER_KEY: MASTER_KEY, RT_PORT: '1' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^rtserver: cannot load apps \(did you run `rtadmin migrate`\?\)/);
  });

  test('an unreachable database is reported after RT_DB_WAIT seconds', async () => {
    const port = await freePort();
    // A port of its own: the server listens while it waits for the database, and the plain and
    // sanitized runs of this file may wait at the same time.
    const listen = await freePort();
    const r = runServer({ RT_DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/x`, RT_MASTER_KEY: MASTER_KEY, RT_DB_WAIT: '1', RT_PORT: String(listen) });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /rtserver: cannot connect to RT_DATABASE_URL: /);
  });
});

describe('the app registry follows the database', { timeout: 60000 }, () => {
  let db, server;
  before(async () => {
    db = createDatabase();
    server = await startServer({ dbUrl: db });
  });
  after(async () => { await server.stop(); });

  test('an app created by rtadmin is usable by a running server within 1 s', async () => {
    const app = createApp(db, [], 'fresh');
    const created = Date.now();
    await waitFor(async () => {
      const client = connect(server, app.key);
      try {
        await Promise.race([connected(client), sleep(200).then(() => { throw new Error('slow'); })]);
        return true;
      } catch { return false; } finally { client.disconnect(); }
    }, 1000, 'app to become visible');
    assert.ok(Date.now() - created < 1000);
  });

  test('disabling an app closes its connections with 4003 and leaves other apps alone', async () => {
    const a = createApp(db, [], 'to-disable');
    const b = createApp(db, [], 'bystander');
    await sleep(300);
    const ca = connect(server, a.key), cb = connect(server, b.key);
    await Promise.all([connected(ca), connected(cb)]);
    const closed = pusherError(ca);
    assert.equal(rtadmin(['app', 'disable', a.id], { RT_DATABASE_URL: db }).code, 0);
    const err = await Promise.race([closed, sleep(1000).then(() => null)]);
    assert.ok(err, 'no error within 1 s');
    assert.equal(err.data.code, 4003);
    assert.equal(cb.connection.state, 'connected');
    ca.disconnect(); cb.disconnect();
  });

  test('deleting an app closes its connections with 4001', async () => {
    const a = createApp(db, [], 'to-delete');
    await sleep(300);
    const ca = connect(server, a.key);
    await connected(ca);
    const closed = pusherError(ca);
    assert.equal(rtadmin(['app', 'delete', a.id, '--yes'], { RT_DATABASE_URL: db }).code, 0);
    const err = await Promise.race([closed, sleep(1000).then(() => null)]);
    assert.ok(err, 'no error within 1 s');
    assert.equal(err.data.code, 4001);
    ca.disconnect();
  });

  test('a revoked key is refused for new connections within 1 s', async () => {
    const a = createApp(db, [], 'revoke');
    await sleep(300);
    assert.equal(rtadmin(['key', 'revoke', a.key], { RT_DATABASE_URL: db }).code, 0);
    await sleep(1000);
    const c = connect(server, a.key);
    const err = await pusherError(c);
    assert.equal(err.data.code, 4001);
    c.disconnect();
  });
});

describe('PostgreSQL going away degrades service without killing the server', { timeout: 60000 }, () => {
  let pg, db, server;
  before(async () => {
    pg = await startPrivatePostgres();
    const r0 = spawnSync('psql', [pg.url, '-qc', 'CREATE DATABASE rt'], { encoding: 'utf8' });
    assert.equal(r0.status, 0, r0.stderr);
    db = pg.url.replace(/\/postgres$/, '/rt');
    assert.equal(rtadmin(['migrate'], { RT_DATABASE_URL: db }).code, 0);
    server = await startServer({ dbUrl: db });
  });
  after(async () => { await server.stop(); pg.destroy(); });

  test('server keeps serving from memory during the outage and picks up changes after', async () => {
    const a = createApp(db, [], 'before-outage');
    await sleep(500);
    const c1 = connect(server, a.key);
    await connected(c1);
    pg.stop();
    await sleep(500);
    const health = await (await fetch(`${server.url}/health`)).json();
    assert.equal(health.database, false);
    const c2 = connect(server, a.key);
    await connected(c2);
    assert.equal(c1.connection.state, 'connected');
    pg.start();
    const b = createApp(db, [], 'after-outage');
    await waitFor(async () => (await (await fetch(`${server.url}/health`)).json()).database, 10000, 'reconnect');
    // /health turns true once the connection is back; the full reload that brings in the new
    // app follows on it, so the app becomes usable shortly after, not necessarily at once.
    let c3;
    await waitFor(async () => {
      c3?.disconnect();
      c3 = connect(server, b.key);
      return Promise.race([connected(c3).then(() => true, () => false), sleep(1000).then(() => false)]);
    }, 3000, 'app created after the outage is not visible');
    for (const c of [c1, c2, c3]) c.disconnect();
  });
});

describe('deployment files', { timeout: 120000 }, () => {
  test('docker-compose.yml is valid for docker-compose', () => {
    const r = spawnSync('docker-compose', ['-f', `${SOURCE_DIR}/docker-compose.yml`, 'config', '-q'], {
      encoding: 'utf8', env: { ...process.env, RT_MASTER_KEY: MASTER_KEY },
    });
    assert.equal(r.status, 0, r.stderr);
  });

  test('the README run command starts a working server with a demo app', async () => {
    const port = await freePort();
    const proc = spawn(`${SOURCE_DIR}/scripts/run`, [], {
      env: { ...process.env, RT_SKIP_DEPS: '1', RT_SKIP_BUILD: '1', RT_PORT: String(port), RT_MASTER_KEY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    try {
      const key = await waitFor(() => /demo app key:\s+(\S+)/.exec(out)?.[1], 60000, `demo app key in output:\n${out}`);
      await waitFor(async () => { try { return (await fetch(`http://127.0.0.1:${port}/ready`)).ok; } catch { return false; } }, 15000, 'ready');
      const c = connect({ host: '127.0.0.1', port }, key);
      await connected(c);
      c.disconnect();
      assert.match(out, new RegExp(`ws://127\\.0\\.0\\.1:${port}/app/${key}\\?protocol=7`));
    } finally {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.on('exit', r));
    }
  });
});
