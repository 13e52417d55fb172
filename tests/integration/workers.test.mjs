// RT_WORKERS: one supervisor, several worker processes on one port (SO_REUSEPORT), each a
// cluster node; a killed worker is restarted; SIGTERM stops them all.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { MASTER_KEY, RTSERVER, createDatabase, createApp, freePort, startServer, sleep, waitFor } from '../harness/index.mjs';
import { connected, pusherClient, restClient } from './helpers.mjs';

async function startRedis(port) {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitFor(async () => {
    try {
      return await import('node:net').then((net) => new Promise((resolve) => {
        const c = net.connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
        c.on('error', () => resolve(false));
      }));
    } catch { return false; }
  }, 5000, 'redis to listen');
  return proc;
}

/** /health of whichever worker the kernel hands this new connection to. */
async function health(server) {
  return (await fetch(`${server.url}/health`, { headers: { Connection: 'close' } })).json();
}

describe('two workers on one port', { timeout: 120000 }, () => {
  let db, app, redis, server;
  const clients = [];
  before(async () => {
    db = createDatabase();
    app = createApp(db, []);
    const redisPort = await freePort();
    redis = await startRedis(redisPort);
    server = await startServer({ dbUrl: db, redisUrl: `redis://127.0.0.1:${redisPort}`, env: { RT_WORKERS: '2' }, waitReady: false });
    // Both workers answer once each has joined the cluster.
    await waitFor(async () => {
      const seen = new Set();
      for (let i = 0; i < 20; i++) {
        try {
          const h = await health(server);
          if (h.status === 'ok') seen.add(h.worker);
        } catch { /* starting */ }
      }
      return seen.size === 2;
    }, 15000, 'both workers to answer');
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await server?.stop();
    redis?.kill();
  });

  test('/health says which worker and node answered; both share the port', async () => {
    const seen = new Map();
    for (let i = 0; i < 30; i++) {
      const h = await health(server);
      seen.set(h.worker, h);
    }
    assert.deepEqual([...seen.keys()].sort(), [0, 1]);
    assert.notEqual(seen.get(0).node, seen.get(1).node);
    assert.notEqual(seen.get(0).pid, seen.get(1).pid);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /^rt_node_info\{node="\d{6}",worker="[01]"\} 1$/m);
  });

  test('clients on different workers get each other\'s events (the workers are cluster nodes)', async () => {
    const got = [];
    for (let i = 0; i < 6; i++) {
      const c = pusherClient(server, app);
      clients.push(c);
      await connected(c);
      c.subscribe('shared').bind('e', (d) => got.push(d));
    }
    const workers = new Set(clients.map((c) => c.connection.socket_id.slice(0, 6)));
    assert.ok(workers.size >= 1);
    await sleep(500);
    assert.equal((await restClient(server, app).trigger('shared', 'e', 'to all')).status, 200);
    await waitFor(() => got.length === 6, 5000, 'all six clients to receive');
  });

  test('a killed worker is restarted and the port keeps serving', async () => {
    let victim;
    for (let i = 0; i < 20 && !victim; i++) {
      const h = await health(server);
      if (h.worker === 1) victim = h;
    }
    assert.ok(victim, 'worker 1 answered');
    process.kill(victim.pid, 'SIGKILL');
    await waitFor(async () => {
      for (let i = 0; i < 20; i++) {
        const h = await health(server).catch(() => null);
        if (h && h.worker === 1 && h.pid !== victim.pid && h.status === 'ok') return true;
      }
      return false;
    }, 15000, 'worker 1 to come back with a new pid');
    assert.match(server.logs(), /supervisor: worker 1 \(pid \d+\) killed by signal 9; restarting in \d+ ms/);
  });
});

test('RT_WORKERS above 1 without RT_REDIS_URL is refused with one line (exit 2)', async () => {
  const db = createDatabase();
  const r = spawnSync(RTSERVER, [], {
    encoding: 'utf8',
    timeout: 10000,
    env: { PATH: process.env.PATH, RT_PORT: String(await freePort()), RT_MASTER_KEY: MASTER_KEY, RT_DATABASE_URL: db, RT_WORKERS: '2' },
  });
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'rtserver: RT_WORKERS=2 needs RT_REDIS_URL: workers are cluster nodes that share state through Redis\n');
});
