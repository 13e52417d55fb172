// Host names in RT_REDIS_URL and RT_DATABASE_URL are resolved off the event loop: while a
// lookup hangs (a resolver during an outage), clients keep getting answers. The lookups are
// slowed down by tests/fixtures/slow_getaddrinfo.c, loaded with LD_PRELOAD: names under
// slow-dns.test take SLOW_DNS_MS, then ok.slow-dns.test is 127.0.0.1 and the rest fail.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BUILD_DIR, SOURCE_DIR, REDIS_URL, createDatabase, createApp, psql, startServer, sleep, waitFor } from '../harness/index.mjs';
import { RawClient, wsUrl } from './helpers.mjs';

const LOOKUP_MS = 2000;
// A frozen loop shows up as one ping taking nearly LOOKUP_MS (pings go out every ~100 ms, so
// one is sent at the start of any freeze); a healthy one answers at once. Half a lookup keeps
// that difference while a shared CI machine's occasional few-hundred-ms scheduling hiccup
// (365 ms seen once) does not fail the test.
const PING_MAX_MS = LOOKUP_MS / 2;

// The fixture is part of the main build; the sanitized run reuses the one of <source>/build.
const FIXTURE = [BUILD_DIR, path.join(SOURCE_DIR, 'build')]
  .map((d) => path.join(d, 'libslow_getaddrinfo.so'))
  .find((p) => existsSync(p));

let scratch;
before(() => { scratch = mkdtempSync(path.join(tmpdir(), 'rt-dns-')); });
after(() => rmSync(scratch, { recursive: true, force: true }));

/** startServer with the slow resolver preloaded; lookups are logged to the returned file. */
async function startWithSlowDns(opts, name) {
  assert.ok(FIXTURE, 'libslow_getaddrinfo.so not built (cmake --build build --target slow_getaddrinfo)');
  const lookups = path.join(scratch, `${name}.lookups`);
  // ASan wants its runtime first in the library list; the fixture only overrides getaddrinfo
  // and forwards to the next definition (ASan's interceptor), so the order does not matter.
  const asan = [process.env.ASAN_OPTIONS, 'verify_asan_link_order=0'].filter(Boolean).join(':');
  const server = await startServer({
    ...opts,
    env: { LD_PRELOAD: FIXTURE, SLOW_DNS_MS: String(LOOKUP_MS), SLOW_DNS_LOG: lookups, ASAN_OPTIONS: asan, ...(opts.env || {}) },
    // /ready stays 503 while a cluster node has no Redis (docs/cluster.md): wait for /health.
    waitReady: false,
  });
  await waitFor(async () => {
    try {
      return (await fetch(`${server.url}/health`)).status === 200;
    } catch {
      return false;
    }
  }, 10000, 'rtserver to answer /health');
  const count = () => (existsSync(lookups) ? readFileSync(lookups, 'utf8').split('\n').filter(Boolean).length : 0);
  return { server, lookups: count };
}

/** pusher:ping round trips, one every 100 ms for ms; returns each round trip in ms. */
async function pingTimes(client, ms) {
  const times = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const t0 = Date.now();
    await client.ping(LOOKUP_MS * 3);
    times.push(Date.now() - t0);
    await sleep(100);
  }
  return times;
}

/** Runs fn(server), then stops the server (checking a clean exit); when fn fails the server
 *  is killed instead, so the assertion is what gets reported, not a slow shutdown. */
async function using(server, fn) {
  try {
    await fn(server);
  } catch (e) {
    await server.kill();
    throw e;
  }
  await server.stop();
}

async function health(server) {
  return (await fetch(`${server.url}/health`)).json();
}

describe('DNS lookups do not block the event loop', { timeout: 90000 }, () => {
  let db, app;
  before(() => {
    db = createDatabase();
    app = createApp(db, [], 'dns');
  });

  test('pings stay fast while a Redis host name keeps failing to resolve', async () => {
    const { server, lookups } = await startWithSlowDns({ dbUrl: db, redisUrl: 'redis://down.slow-dns.test:6379' }, 'redis-down');
    await using(server, async () => {
      const c = await RawClient.connect(wsUrl(server, app.key));
      const before = lookups();
      const times = await pingTimes(c, 5000);
      c.close();
      assert.ok(lookups() - before >= 2, `expected retried lookups, saw ${lookups() - before}`);
      assert.ok(Math.max(...times) < PING_MAX_MS, `ping round trips ${times.join(',')} ms`);
      assert.equal((await health(server)).redis, 'disconnected');
      const warnings = server.logs().match(/cluster: Redis down\.slow-dns\.test:6379 unreachable \(cannot resolve the host: [^)]*\)/g) || [];
      assert.equal(warnings.length, 1);
    });
  });

  test('a Redis host name that resolves slowly is connected to once resolved', async () => {
    const port = new URL(REDIS_URL).port;
    const { server } = await startWithSlowDns({ dbUrl: db, redisUrl: `redis://ok.slow-dns.test:${port}` }, 'redis-ok');
    await using(server, async () => {
      const c = await RawClient.connect(wsUrl(server, app.key));
      const times = await pingTimes(c, 1500);
      c.close();
      assert.ok(Math.max(...times) < PING_MAX_MS, `ping round trips ${times.join(',')} ms`);
      await waitFor(async () => (await health(server)).redis === 'connected', LOOKUP_MS * 3, 'redis connected');
    });
  });

  test('pings stay fast while the PostgreSQL LISTEN connection resolves its host to reconnect', async () => {
    const dbName = new URL(db).pathname.slice(1);
    const slowDb = db.replace('@127.0.0.1:', '@ok.slow-dns.test:');
    const { server, lookups } = await startWithSlowDns({ dbUrl: slowDb }, 'pg');
    await using(server, async () => {
      await waitFor(async () => (await health(server)).database === true, LOOKUP_MS * 3, 'LISTEN connection');
      const c = await RawClient.connect(wsUrl(server, app.key));
      const before = lookups();
      // Cut the LISTEN connection: the store reconnects, resolving the host again.
      psql(db, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${dbName}' AND pid <> pg_backend_pid()`);
      const times = await pingTimes(c, LOOKUP_MS + 1500);
      assert.ok(lookups() - before >= 1, 'expected a lookup for the reconnect');
      assert.ok(Math.max(...times) < PING_MAX_MS, `ping round trips ${times.join(',')} ms`);
      // Reconnected to the resolved address, and LISTEN works there: a new app is served.
      await waitFor(async () => (await health(server)).database === true, LOOKUP_MS * 3, 'reconnect');
      const fresh = createApp(db, [], 'dns-after-reconnect');
      await waitFor(async () => {
        try { (await RawClient.connect(wsUrl(server, fresh.key))).close(); return true; } catch { return false; }
      }, 5000, 'the new app to be served');
      c.close();
    });
  });
});
