// The production topology run locally (scripts/stack): two rtserver nodes in cluster mode
// behind HAProxy terminating TLS with deploy/haproxy/haproxy.cfg. Real pusher-js over wss://
// through the balancer; a drained node's clients get 4200 spread over RT_DRAIN_SECONDS and
// come back through the balancer on the other node while no REST request is lost. Also
// checks docker-compose.yml (docker-compose config) and the HAProxy file (haproxy -c).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SOURCE_DIR, BUILD_DIR, MASTER_KEY, assertCleanLogs, createDatabase, createApp, freePort, waitFor } from '../harness/index.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const STACK = path.join(SOURCE_DIR, 'scripts/stack');

function compose(env = {}) {
  const r = spawnSync('sh', ['-c', `docker-compose -f "${SOURCE_DIR}/docker-compose.yml" config | python3 -c 'import json,sys,yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'`], {
    encoding: 'utf8', env: { ...process.env, ...env },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function startRedis(port) {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitFor(() => new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
    c.on('error', () => resolve(false));
  }), 5000, 'redis to listen');
  return proc;
}

function stackEnv(dir) {
  const env = {};
  for (const line of readFileSync(path.join(dir, 'stack.env'), 'utf8').split('\n')) {
    const m = /^export (\w+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return env;
}

function clients(stack, app, opts) {
  const r = spawnSync(process.execPath, [path.join(here, 'stack_clients.mjs'), JSON.stringify({ port: Number(stack.RT_LB_PORT), app, ...opts })], {
    encoding: 'utf8', timeout: 90000, env: { ...process.env, NODE_EXTRA_CA_CERTS: stack.RT_LB_CA },
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

async function connections(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^rt_connections (\d+)$/m.exec(text)[1]);
}

describe('docker-compose.yml: production topology', () => {
  test('two rtserver nodes and a TLS load balancer; only the balancer is published', () => {
    const c = compose();
    assert.deepEqual(Object.keys(c.services).sort(), ['certs', 'lb', 'migrate', 'postgres', 'redis', 'rtadmin', 'rtserver-1', 'rtserver-2']);
    const ids = new Set();
    for (const name of ['rtserver-1', 'rtserver-2']) {
      const s = c.services[name];
      assert.equal(s.environment.RT_TRUST_PROXY, '1', name);
      assert.equal(s.environment.RT_REDIS_URL, 'redis://redis:6379', name);
      assert.equal(s.environment.RT_MASTER_KEY_FILE, '/run/secrets/master_key', name);
      assert.equal(s.ports, undefined, `${name} is not published`);
      assert.equal(s.depends_on.migrate.condition, 'service_completed_successfully');
      assert.ok(Number(s.environment.RT_DRAIN_SECONDS) + 5 < parseInt(s.stop_grace_period, 10), `${name} stop_grace_period covers the drain`);
      assert.deepEqual(s.healthcheck.test, ['CMD', 'curl', '-fsS', 'http://127.0.0.1:6001/ready']);
      ids.add(s.environment.RT_NODE_ID);
    }
    assert.deepEqual([...ids].sort(), ['1', '2']);
    const lb = c.services.lb;
    assert.equal(lb.image, 'haproxy:2.6');
    assert.deepEqual(lb.ports.map((p) => `${p.published}:${p.target}`), ['443:8443']);
    assert.equal(lb.environment.RT_NODE1, 'rtserver-1:6001');
    assert.equal(lb.environment.RT_NODE2, 'rtserver-2:6001');
    assert.ok(lb.volumes.some((v) => (v.source ?? v.split(':')[0]).endsWith('deploy/haproxy/haproxy.cfg') || String(v).includes('deploy/haproxy/haproxy.cfg')));
    assert.equal(lb.depends_on.certs.condition, 'service_completed_successfully');
    assert.equal(c.services.migrate.restart, 'no');
  });

  test('the certificate is generated into a volume unless LB_CERT_DIR names your own', () => {
    const vol = (c) => c.services.lb.volumes.map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`)).find((v) => v.includes(':/certs'));
    assert.match(vol(compose()), /^lbcerts:\/certs/);
    assert.match(vol(compose({ LB_CERT_DIR: '/etc/mycerts' })), /^\/etc\/mycerts:\/certs/);
    assert.match(compose().services.certs.entrypoint.join(' '), /if \[ -s \/certs\/lb.pem \]; then .*exit 0; fi\n\s*openssl req -x509/);
  });

  test('the HAProxy configuration is valid, health-checks /ready, passes WebSockets and is not sticky', () => {
    const cfg = readFileSync(path.join(SOURCE_DIR, 'deploy/haproxy/haproxy.cfg'), 'utf8');
    assert.match(cfg, /option httpchk GET \/ready/);
    assert.match(cfg, /http-check expect status 200/);
    assert.match(cfg, /timeout tunnel 1h/);
    assert.match(cfg, /http-request set-header X-Forwarded-Proto https/);
    assert.doesNotMatch(cfg, /^\s*(stick|cookie|balance source|hash-type)/m);
    const dir = mkdtempSync(path.join(tmpdir(), 'lbcfg-'));
    try {
      const r0 = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', `${dir}/k`, '-out', `${dir}/c`], { encoding: 'utf8' });
      assert.equal(r0.status, 0, r0.stderr);
      writeFileSync(`${dir}/lb.pem`, readFileSync(`${dir}/c`, 'utf8') + readFileSync(`${dir}/k`, 'utf8'));
      const r = spawnSync('haproxy', ['-c', '-f', path.join(SOURCE_DIR, 'deploy/haproxy/haproxy.cfg')], {
        encoding: 'utf8', env: { ...process.env, LB_BIND: '127.0.0.1:8443', LB_CERT: `${dir}/lb.pem`, RT_NODE1: '127.0.0.1:1', RT_NODE2: '127.0.0.1:2' },
      });
      assert.equal(r.status, 0, r.stdout + r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('scripts/stack: two nodes behind HAProxy over TLS', { timeout: 180000 }, () => {
  let dir, redis, app, stack;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'rtstack-'));
    const db = createDatabase();
    app = createApp(db, [], 'stack');
    const redisPort = await freePort();
    redis = await startRedis(redisPort);
    const r = spawnSync(STACK, ['up'], {
      encoding: 'utf8', timeout: 60000,
      env: {
        PATH: process.env.PATH, HOME: process.env.HOME, RT_STACK_DIR: dir, RT_BUILD_DIR: BUILD_DIR,
        RT_DATABASE_URL: db, RT_REDIS_URL: `redis://127.0.0.1:${redisPort}`, RT_MASTER_KEY: MASTER_KEY,
        RT_DRAIN_SECONDS: '3', RT_LB_PORT: String(await freePort()),
      },
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /WebSocket: {2}wss:\/\/127\.0\.0\.1:\d+\/app\/APP_KEY\?protocol=7/);
    stack = stackEnv(dir);
    assert.match(stack.RT_SERVER_DATABASE_URL, /^postgresql:\/\/rt_stack@/, 'the nodes use the read-only role');
  });
  after(() => {
    if (dir) spawnSync(STACK, ['down'], { env: { ...process.env, RT_STACK_DIR: dir }, timeout: 60000 });
    redis?.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('pusher-js over wss through the balancer receives an event published over https through it; both nodes serve', async () => {
    const out = clients(stack, app, { mode: 'smoke', clients: 4 });
    assert.deepEqual(out.rest, [200]);
    for (const c of out.clients) assert.deepEqual(c.events, [1], `client ${c.i}`);
    const nodes = new Set(out.clients.map((c) => c.socketIds[0].slice(0, 6)));
    assert.deepEqual([...nodes].sort(), ['000001', '000002'], 'leastconn without stickiness spreads the clients');
  });

  test('draining node 1: its clients get 4200 spread over 3 s and reconnect to node 2; no REST request lost', async () => {
    const out = clients(stack, app, { mode: 'drain', clients: 12, drainPid: Number(stack.RT_NODE1_PID), drainPrefix: '000001', windowMs: 3000 });
    const onNode1 = out.clients.filter((c) => c.socketIds[0].startsWith('000001'));
    assert.ok(onNode1.length >= 3, `${onNode1.length} clients on node 1`);
    for (const c of out.clients) {
      assert.equal(c.final, 'connected', `client ${c.i}`);
      if (c.socketIds[0].startsWith('000001')) {
        // pusher-js reports the pusher:error and the close frame, both 4200, as two errors.
        assert.deepEqual([...new Set(c.errors.map((e) => e.code))], [4200], `client ${c.i}: ${JSON.stringify(c.errors)}`);
        assert.ok(c.errors[c.errors.length - 1].at - c.errors[0].at < 100, `client ${c.i}: one close`);
        assert.equal(c.socketIds.length, 2, `client ${c.i} reconnected once`);
        assert.match(c.socketIds[1], /^000002/, `client ${c.i} came back on node 2`);
      } else {
        assert.deepEqual(c.errors, [], `client ${c.i} on node 2 is left alone`);
        assert.equal(c.socketIds.length, 1);
      }
    }
    const at = onNode1.map((c) => c.errors[0].at - out.sigtermAt).sort((a, b) => a - b);
    assert.ok(at[0] < 1000, `first 4200 after ${at[0]} ms`);
    assert.ok(at[at.length - 1] >= 3000 * (onNode1.length - 1) / onNode1.length - 400, `last 4200 after ${at[at.length - 1]} ms: ${at}`);
    assert.ok(at[at.length - 1] < 3600, `last 4200 after ${at[at.length - 1]} ms`);
    // Every REST request published through the balancer during the drain was answered 200.
    assert.ok(out.rest.length >= 40, `${out.rest.length} requests`);
    assert.deepEqual(out.rest.filter((s) => s !== 200), []);
    await waitFor(() => { try { process.kill(Number(stack.RT_NODE1_PID), 0); return false; } catch { return true; } }, 10000, 'node 1 to exit');
    assert.match(readFileSync(path.join(dir, 'node1.log'), 'utf8'), /draining \d+ connections over 3 s[\s\S]*drained: stopping[\s\S]*rtserver stopped/);
    assert.equal(await connections(stack.RT_NODE2_URL), 0, 'the clients disconnected at the end');
    for (const n of ['node1', 'node2']) assertCleanLogs(readFileSync(path.join(dir, `${n}.log`), 'utf8'));
  });
});
