// Test harness: fresh databases, rtadmin, rtserver processes on free loopback ports.
// Services (PostgreSQL, Redis) come from scripts/services; each test file gets its own
// database so suites can run in parallel without seeing each other's apps.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = process.env.RT_SOURCE_DIR || path.resolve(here, '../..');
export const BUILD_DIR = process.env.RT_BUILD_DIR || path.join(SOURCE_DIR, 'build');
export const RTSERVER = path.join(BUILD_DIR, 'rtserver');
export const RTADMIN = path.join(BUILD_DIR, 'rtadmin');
// A fixed master key for tests only (64 hex chars = 32 bytes).
export const MASTER_KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';

function loadServicesEnv() {
  const env = {};
  const file = path.join(process.env.RT_RUN_DIR || path.join(SOURCE_DIR, 'run'), 'services.env');
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^export (\w+)=(.*)$/.exec(line);
      if (m) env[m[1]] = m[2];
    }
  }
  return env;
}

const servicesEnv = loadServicesEnv();
export const PG_URL = process.env.RT_TEST_PG_URL || servicesEnv.RT_TEST_PG_URL;
export const REDIS_URL = process.env.RT_TEST_REDIS_URL || servicesEnv.RT_TEST_REDIS_URL;
// RT_TEST_REDIS_CLUSTER=1: REDIS_URL is a Redis Cluster's seed list, and servers started on
// it run with RT_REDIS_CLUSTER=1 (the cluster suites run once more this way).
export const REDIS_CLUSTER = process.env.RT_TEST_REDIS_CLUSTER === '1';
export const PG_BIN = process.env.RT_PG_BIN || servicesEnv.RT_PG_BIN || '/usr/lib/postgresql/15/bin';
export const PG_DATA = process.env.RT_PG_DATA || servicesEnv.RT_PG_DATA;
if (!PG_URL) throw new Error('RT_TEST_PG_URL is not set: run `scripts/services up` first');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs psql against url; returns stdout. Throws on failure. */
export function psql(url, sql) {
  const r = spawnSync('psql', [url, '-qAtX', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** Creates an empty database and returns its URL (not migrated). */
export function createEmptyDatabase() {
  const name = `rt_t_${randomBytes(6).toString('hex')}`;
  psql(PG_URL, `CREATE DATABASE ${name}`);
  return PG_URL.replace(/\/[^/?]*(\?.*)?$/, `/${name}`);
}

/** Creates a fresh database, applies migrations with rtadmin, returns its URL. */
export function createDatabase() {
  const url = createEmptyDatabase();
  const r = rtadmin(['migrate'], { RT_DATABASE_URL: url });
  if (r.code !== 0) throw new Error(`rtadmin migrate failed: ${r.stderr}`);
  return url;
}

/** ASAN_OPTIONS / UBSAN_OPTIONS / LSAN_OPTIONS of the test run, passed on to the binaries
 *  (the processes otherwise get a clean environment). */
export function sanitizerEnv() {
  const out = {};
  for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS']) if (process.env[k]) out[k] = process.env[k];
  return out;
}

/** Runs rtadmin synchronously. env is merged over a clean base with the test master key. */
export function rtadmin(args, env = {}, input) {
  const r = spawnSync(RTADMIN, args, {
    encoding: 'utf8',
    input,
    env: { ...sanitizerEnv(), PATH: process.env.PATH, HOME: process.env.HOME || '/root', USER: 'tester', RT_MASTER_KEY: MASTER_KEY, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}

/** Creates an app; flags as rtadmin takes them. Returns {id, key, secret}. */
export function createApp(dbUrl, flags = [], name = 'test-app') {
  const r = rtadmin(['app', 'create', '--name', name, ...flags, '--json'], { RT_DATABASE_URL: dbUrl });
  if (r.code !== 0) throw new Error(`rtadmin app create failed (${r.code}): ${r.stderr}`);
  return r.json();
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts rtserver on a free port and waits until GET /ready answers 200.
 * opts: { dbUrl, redisUrl (null = standalone), redisCluster (default: redisUrl lists several
 *         seeds, or is REDIS_URL with REDIS_CLUSTER), env: {..extra}, args: [..], waitReady: true }
 * Returns { port, host, url, proc, logs(), stop(), kill(), exited }.
 */
const redisCluster = (opts) => opts.redisCluster ??
  Boolean(opts.redisUrl && (opts.redisUrl.includes(',') || (REDIS_CLUSTER && opts.redisUrl === REDIS_URL)));

export async function startServer(opts = {}) {
  const port = opts.port || (await freePort());
  const env = {
    ...sanitizerEnv(),
    PATH: process.env.PATH,
    RT_HOST: '127.0.0.1',
    RT_PORT: String(port),
    RT_MASTER_KEY: MASTER_KEY,
    RT_LOG_LEVEL: 'info',
    // stop() closes every client at once; tests of the drain window set their own.
    RT_DRAIN_SECONDS: '0',
    ...(opts.dbUrl ? { RT_DATABASE_URL: opts.dbUrl } : {}),
    ...(opts.redisUrl ? { RT_REDIS_URL: opts.redisUrl } : {}),
    ...(redisCluster(opts) ? { RT_REDIS_CLUSTER: '1' } : {}),
    ...(opts.env || {}),
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined || v === null) delete env[k];
  const proc = spawn(opts.binary || RTSERVER, opts.args || [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const server = {
    port,
    host: '127.0.0.1',
    url: `http://127.0.0.1:${port}`,
    proc,
    exited,
    logs: () => out,
    /** SIGTERM and wait; throws when the server reported a sanitizer error or a leak, or
     *  did not exit cleanly, so every suite doubles as a memory-safety check. */
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      let timer;
      const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(null), 10000); });
      let res = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (!res) { proc.kill('SIGKILL'); res = await exited; throw new Error(`rtserver did not stop on SIGTERM:\n${out}`); }
      assertCleanLogs(out);
      if (res.code !== 0) throw new Error(`rtserver exited with ${res.code ?? res.signal}:\n${out}`);
      return res;
    },
    async kill() { proc.kill('SIGKILL'); return exited; },
  };
  if (opts.waitReady === false) return server;
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`rtserver exited early (${proc.exitCode}):\n${out}`);
    try {
      const res = await fetch(`${server.url}/ready`);
      if (res.status === 200) return server;
    } catch { /* not listening yet */ }
    await sleep(50);
  }
  proc.kill('SIGKILL');
  throw new Error(`rtserver did not become ready:\n${out}`);
}

/** Throws when a process log contains an AddressSanitizer/UBSan/LeakSanitizer report. */
export function assertCleanLogs(log) {
  if (/AddressSanitizer|LeakSanitizer|runtime error:/.test(log)) throw new Error(`sanitizer report:\n${log}`);
}

/** pusher-js options that point the real client at our server. */
export function pusherJsOptions(server, extra = {}) {
  return {
    wsHost: server.host,
    wsPort: server.port,
    wssPort: server.port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    cluster: 'mt1',
    ...extra,
  };
}

/** pusher (Node server SDK) options for our REST API. */
export function pusherRestOptions(server, app, extra = {}) {
  return { appId: app.id, key: app.key, secret: app.secret, host: server.host, port: String(server.port), useTLS: false, ...extra };
}

/** Resolves when predicate() is truthy, polling every 10 ms; rejects after ms. */
export async function waitFor(predicate, ms = 3000, what = 'condition') {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
