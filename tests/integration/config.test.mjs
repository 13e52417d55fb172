// Configuration (docs/configuration.md): --version, --check-config (every bad setting and
// unreachable dependency exits 2 naming it), the config file, SIGHUP reloading the log level
// from it, and the settings table checked against the code.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OneNodeClusterRedis } from './redis_one_node_cluster.mjs';
import {
  RTSERVER, SOURCE_DIR, MASTER_KEY, REDIS_URL, createDatabase, createEmptyDatabase, createApp,
  freePort, sanitizerEnv, startServer, waitFor,
} from '../harness/index.mjs';

const CONFIG_C = readFileSync(path.join(SOURCE_DIR, 'server/src/config.c'), 'utf8');
const DOC = readFileSync(path.join(SOURCE_DIR, 'docs/configuration.md'), 'utf8');

/** The settings table of docs/configuration.md: name -> {flag, def, allowed}. */
function docTable() {
  const rows = new Map();
  for (const line of DOC.split('\n')) {
    const m = /^\| `(RT_[A-Z0-9_]+)` \| ([^|]*) \| ([^|]*) \| ([^|]*) \|/.exec(line);
    if (m) rows.set(m[1], { flag: m[2].trim(), def: m[3].trim(), allowed: m[4].trim() });
  }
  return rows;
}

/** Integer settings as the code parses them: name -> {def, min, max}. */
function codeIntegers() {
  const out = new Map();
  const defaults = new Map();
  for (const m of CONFIG_C.matchAll(/env_or\("(RT_\w+)",\s*"([^"]*)"\)/g)) defaults.set(m[1], m[2]);
  for (const m of CONFIG_C.matchAll(/\{"(RT_\w+)",\s*"([^"]*)",\s*(\d+),\s*(\d+),/g))
    out.set(m[1], { def: m[2], min: Number(m[3]), max: Number(m[4]) });
  for (const m of CONFIG_C.matchAll(/parse_int\("(RT_\w+)",\s*\w+,\s*(\d+),\s*(\d+),/g))
    out.set(m[1], { def: defaults.get(m[1]), min: Number(m[2]), max: Number(m[3]) });
  return out;
}

function run(args, env = {}) {
  const r = spawnSync(RTSERVER, args, {
    encoding: 'utf8',
    timeout: 20000,
    env: { ...sanitizerEnv(), PATH: process.env.PATH, RT_MASTER_KEY: MASTER_KEY, RT_DRAIN_SECONDS: '0', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('configuration', { timeout: 120000 }, () => {
  let dbUrl, dir;
  before(() => {
    dbUrl = createDatabase();
    createApp(dbUrl);
    dir = mkdtempSync(path.join(tmpdir(), 'rtconfig-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('--version prints the version and exits 0 without any setting', () => {
    const r = run(['--version'], { RT_MASTER_KEY: '' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^rtserver \d+\.\d+\.\d+\n$/);
  });

  test('--check-config: a good configuration exits 0 with one line', () => {
    const r = run(['--check-config'], { RT_DATABASE_URL: dbUrl, RT_REDIS_URL: REDIS_URL });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^rtserver \S+: configuration ok \(listen 127\.0\.0\.1:6001, PostgreSQL reachable with 1 apps, Redis reachable\)\n$/);
  });

  test('--check-config: every integer setting out of range or not a number exits 2 naming it', () => {
    const ints = codeIntegers();
    assert.ok(ints.size >= 30, `found ${ints.size} integer settings in config.c`);
    for (const [name, { min, max }] of ints) {
      for (const bad of ['x', String(max + 1), ...(min > 0 ? [String(min - 1)] : ['-1'])]) {
        const r = run(['--check-config'], { RT_DATABASE_URL: dbUrl, [name]: bad });
        assert.equal(r.code, 2, `${name}=${bad}: ${r.stdout}`);
        assert.equal(r.stderr, `rtserver: ${name} must be an integer from ${min} to ${max} (got "${bad}")\n`);
      }
    }
  });

  test('--check-config: every other bad setting or unreachable dependency exits 2 naming it', async () => {
    const closed = await freePort();
    const cert = path.join(dir, 'missing.pem');
    const cases = [
      [{ RT_DATABASE_URL: '' }, /^rtserver: RT_DATABASE_URL is not set/],
      [{ RT_DATABASE_URL: `postgresql://postgres@127.0.0.1:${closed}/x` }, /^rtserver: RT_DATABASE_URL: cannot connect within 5 s: /],
      [{ RT_DATABASE_URL: createEmptyDatabase() }, /^rtserver: cannot load apps \(did you run `rtadmin migrate`\?\)/],
      [{ RT_MASTER_KEY: 'ff'.repeat(32) }, /^rtserver: RT_MASTER_KEY cannot decrypt the secret/],
      [{ RT_MASTER_KEY: 'short' }, /^rtserver: RT_MASTER_KEY/],
      [{ RT_MASTER_KEY: '', RT_MASTER_KEY_FILE: path.join(dir, 'nope.key') }, /^rtserver: cannot read RT_MASTER_KEY_FILE .*nope\.key/],
      [{ RT_REDIS_URL: `redis://127.0.0.1:${closed}` }, /^rtserver: RT_REDIS_URL: cannot connect to 127\.0\.0\.1:\d+ within 5 s: /],
      [{ RT_REDIS_URL: 'http://x' }, /^rtserver: RT_REDIS_URL must look like redis:\/\/host:port/],
      [{ RT_TLS_CERT: cert, RT_TLS_KEY: cert }, /^rtserver: RT_TLS_CERT/],
      [{ RT_TLS_CERT: cert }, /^rtserver: RT_TLS_CERT is set but RT_TLS_KEY is not/],
      [{ RT_LOG_LEVEL: 'loud' }, /^rtserver: RT_LOG_LEVEL must be debug, info, warn or error \(got "loud"\)/],
      [{ RT_LOG_FORMAT: 'yaml' }, /^rtserver: RT_LOG_FORMAT must be text or json \(got "yaml"\)/],
      [{ RT_PATH_PREFIX: 'realtime/' }, /^rtserver: RT_PATH_PREFIX must start with '\/'/],
      [{ RT_TRUST_PROXY: 'yes' }, /^rtserver: RT_TRUST_PROXY must be 0 or 1 \(got "yes"\)/],
      [{ RT_REDIS_CLUSTER: 'yes' }, /^rtserver: RT_REDIS_CLUSTER must be 0 or 1 \(got "yes"\)/],
      [{ RT_REDIS_CLUSTER: '1' }, /^rtserver: RT_REDIS_CLUSTER=1 needs RT_REDIS_URL/],
      [{ RT_REDIS_URL: 'redis://10.0.0.1:6379,10.0.0.2:6379' }, /^rtserver: RT_REDIS_URL lists several hosts: set RT_REDIS_CLUSTER=1/],
      [{ RT_REDIS_URL: REDIS_URL, RT_REDIS_CLUSTER: '1' }, /^rtserver: RT_REDIS_CLUSTER=1 but 127\.0\.0\.1:\d+ is not a Redis Cluster node/],
      [{ RT_REDIS_URL: `redis://127.0.0.1:${closed},127.0.0.1:${closed}`, RT_REDIS_CLUSTER: '1' }, /^rtserver: RT_REDIS_URL: cannot connect to 127\.0\.0\.1:\d+ within 5 s: /],
      [{ RT_HOST: 'no-such-host.invalid' }, /^rtserver: RT_HOST: cannot resolve "no-such-host\.invalid"/],
      [{ RT_CONFIG: path.join(dir, 'absent.conf') }, /^rtserver: RT_CONFIG: cannot read .*absent\.conf/],
    ];
    for (const [env, re] of cases) {
      const r = run(['--check-config'], { RT_DATABASE_URL: dbUrl, ...env });
      assert.equal(r.code, 2, `${JSON.stringify(env)}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr.split('\n').filter((l) => !/^\d{4}-\d\d-\d\dT\S+Z (debug|info|warn) /.test(l)).join('\n'), re, JSON.stringify(env));
    }
  });

  test('--check-config: a Redis Cluster node needs RT_REDIS_CLUSTER=1; with it, a dead first seed is skipped', async () => {
    const node = await new OneNodeClusterRedis(await OneNodeClusterRedis.freePort()).start();
    try {
      let r = run(['--check-config'], { RT_DATABASE_URL: dbUrl, RT_REDIS_URL: node.url });
      assert.equal(r.code, 2, r.stdout);
      assert.match(r.stderr, /^rtserver: RT_REDIS_URL: 127\.0\.0\.1:\d+ is a Redis Cluster node: set RT_REDIS_CLUSTER=1/m);
      const closed = await freePort();
      r = run(['--check-config'], { RT_DATABASE_URL: dbUrl, RT_REDIS_CLUSTER: '1', RT_REDIS_URL: `redis://127.0.0.1:${closed},${node.url.slice('redis://'.length)}` });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Redis Cluster reachable/);
    } finally {
      await node.kill();
    }
  });

  test('--check-config: a key that does not match the certificate, and a wrong Redis password, exit 2', async () => {
    const gen = (name) => {
      const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
        '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.crt`)], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    };
    gen('a');
    gen('b');
    let r = run(['--check-config'], { RT_DATABASE_URL: dbUrl, RT_TLS_CERT: path.join(dir, 'a.crt'), RT_TLS_KEY: path.join(dir, 'b.key') });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^rtserver: RT_TLS_KEY/);
    r = run(['--check-config'], { RT_DATABASE_URL: dbUrl, RT_TLS_CERT: path.join(dir, 'a.crt'), RT_TLS_KEY: path.join(dir, 'a.key') });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /listen 127\.0\.0\.1:6001 with TLS,/);
    const port = await freePort();
    const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', 'right'], { stdio: 'ignore' });
    try {
      await waitFor(() => run(['--check-config'], { RT_DATABASE_URL: dbUrl, RT_REDIS_URL: `redis://:right@127.0.0.1:${port}` }).code === 0, 5000, 'redis with a password');
      r = run(['--check-config'], { RT_DATABASE_URL: dbUrl, RT_REDIS_URL: `redis://:wrong@127.0.0.1:${port}` });
      assert.equal(r.code, 2);
      assert.match(r.stderr, new RegExp(`rtserver: RT_REDIS_URL: 127\\.0\\.0\\.1:${port} refused the password\n$`));
      assert.ok(!r.stderr.includes('wrong'), 'the password is not printed');
      r = run(['--check-config'], { RT_DATABASE_URL: dbUrl, RT_REDIS_URL: `redis://127.0.0.1:${port}` });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /did not answer INFO: NOAUTH/);
    } finally {
      redis.kill('SIGKILL');
    }
  });

  test('the config file supplies settings under the environment and refuses unknown names', () => {
    const file = path.join(dir, 'rt.conf');
    writeFileSync(file, `# comment\n\nRT_DATABASE_URL = "${dbUrl}"\nRT_PORT=7001\nRT_HOST=127.0.0.1\n`);
    let r = run(['--check-config', '--config', file], {});
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /listen 127\.0\.0\.1:7001,/);
    r = run(['--check-config'], { RT_CONFIG: file, RT_PORT: '7002' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /listen 127\.0\.0\.1:7002,/, 'the environment wins over the file');
    writeFileSync(file, 'RT_PORT=7001\nRT_PROT=7002\n');
    r = run(['--check-config', `--config=${file}`], { RT_DATABASE_URL: dbUrl });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `rtserver: ${file} line 2: unknown setting "RT_PROT"\n`);
    writeFileSync(file, 'RT_PORT\n');
    r = run(['--check-config', `--config=${file}`], { RT_DATABASE_URL: dbUrl });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `rtserver: ${file} line 1: expected NAME=value\n`);
  });

  test('SIGHUP reloads the log level from the config file and says so', async () => {
    const file = path.join(dir, 'hup.conf');
    writeFileSync(file, 'RT_LOG_LEVEL=info\n');
    const server = await startServer({ dbUrl, env: { RT_CONFIG: file, RT_LOG_LEVEL: undefined } });
    writeFileSync(file, 'RT_LOG_LEVEL=debug\n');
    server.proc.kill('SIGHUP');
    await waitFor(() => /SIGHUP: log level debug \(from .*hup\.conf\)/.test(server.logs()), 3000, 'the reload line');
    writeFileSync(file, 'RT_LOG_LEVEL=shouty\n');
    server.proc.kill('SIGHUP');
    await waitFor(() => /SIGHUP: RT_LOG_LEVEL must be debug, info, warn or error \(got "shouty"\); log level debug kept/.test(server.logs()), 3000, `the refusal in:\n${server.logs()}`);
    await server.stop();
  });

  test('docs/configuration.md has one row per setting the server reads, with the code\'s defaults and ranges', () => {
    const rows = docTable();
    const sources = [
      ...readdirSync(path.join(SOURCE_DIR, 'server/src')).filter((f) => f.endsWith('.c')).map((f) => `server/src/${f}`),
      ...readdirSync(path.join(SOURCE_DIR, 'server/src/core')).filter((f) => f.endsWith('.c')).map((f) => `server/src/core/${f}`),
    ];
    const read = new Set();
    for (const f of sources) {
      const text = readFileSync(path.join(SOURCE_DIR, f), 'utf8');
      for (const m of text.matchAll(/(?:getenv|env_or)\("(RT_[A-Z0-9_]+)"/g)) read.add(m[1]);
      for (const m of text.matchAll(/"(RT_[A-Z0-9_]+)="/g)) read.add(m[1]); // scanned in environ
      for (const m of text.matchAll(/\{"(RT_[A-Z0-9_]+)",\s*"[^"]*",\s*\d+/g)) read.add(m[1]);
    }
    assert.ok(read.size >= 40, `found ${read.size} settings in the source`);
    for (const name of read) assert.ok(rows.has(name), `${name} is read by the server but not in docs/configuration.md`);
    const known = /rt_config_settings\[\] = \{([^}]*)\}/.exec(CONFIG_C)[1];
    for (const name of rows.keys()) {
      assert.ok(read.has(name) || name === 'RT_CONFIG', `${name} is documented but not read by the server`);
      assert.match(known, new RegExp(`"${name}"`), `${name} is missing from rt_config_settings (config file)`);
    }
    for (const [name, { def, min, max }] of codeIntegers()) {
      const row = rows.get(name);
      if (def !== undefined) assert.equal(row.def, def, `${name} default`); // else computed (NODE_ID, WORKERS)
      assert.equal(row.allowed, `${min}..${max}`, `${name} range`);
    }
  });
});
