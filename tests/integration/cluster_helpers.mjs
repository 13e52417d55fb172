// Helpers for the cluster_state_*.test.mjs suites (CLUSTER_SPEC.md, issue 11): a private
// redis-server that a test may kill and restart (empty) on the same port, rtserver nodes on
// it with fixed RT_NODE_IDs, real pusher-js clients that record every protocol frame they
// receive, the `pusher` SDK for REST, and polling assertions that always have a deadline.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { freePort, startServer, sleep, waitFor } from '../harness/index.mjs';
import { RawClient, alive, pusherClient, restClient as sdkClient, rssKb, subscribed } from './helpers.mjs';
import { OneNodeClusterRedis } from './redis_one_node_cluster.mjs';
import { RedisCluster } from './redis_cluster_helpers.mjs';

export { alive, rssKb, sleep, waitFor };

/** The `pusher` SDK for app on node; every request gives up after 5 s. */
export const restClient = (node, app) => sdkClient(node, app, { timeout: 5000 });

/** Resolves like promise, or rejects after ms naming what. */
export function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** A raw WebSocket connected to url (connection_established within 5 s). */
export const rawConnect = (url) => within(RawClient.connect(url), 5000, `connecting ${url}`);

export const SANITIZED = process.env.RT_SANITIZED === '1';

let seq = 0;
/** A name nobody else in the run uses: prefix + time + counter. */
export const uniq = (prefix) => `${prefix}${Date.now().toString(36)}${++seq}`;

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

/** A redis-server of our own on 127.0.0.1:port (no persistence: a restart comes back empty). */
export class Redis {
  constructor(port) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
    this.proc = null;
  }

  async start() {
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' });
    const proc = this.proc;
    this.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
    await waitFor(() => portOpen(this.port), 5000, `redis-server to listen on ${this.port}`);
    return this;
  }

  /** SIGKILL (a crash, nothing flushed) and wait until the process is gone. */
  async kill() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }
}

/** GET /health: {status (HTTP), json}. */
export async function health(node) {
  const res = await fetch(`${node.url}/health`, { signal: AbortSignal.timeout(3000) });
  return { status: res.status, json: await res.json() };
}

/** HTTP status of GET /ready. */
export async function readyStatus(node) {
  return (await fetch(`${node.url}/ready`, { signal: AbortSignal.timeout(3000) })).status;
}

/** Resolves once GET /ready answers 200; rejects after ms or when the process exits. */
export async function waitReady(node, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!alive(node)) throw new Error(`node ${node.name} exited (${node.proc.exitCode ?? node.proc.signalCode}) before it was ready:\n${node.logs()}`);
    try {
      if ((await fetch(`${node.url}/ready`, { signal: AbortSignal.timeout(3000) })).status === 200) return;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`node ${node.name} not ready within ${ms} ms:\n${node.logs()}`);
    await sleep(50);
  }
}

/**
 * The processes and clients of one suite. Everything started through it is torn down by
 * shutdown(): clients disconnected, live nodes stopped with SIGTERM (stop() also fails on a
 * crash or a sanitizer report), nodes killed with SIGKILL left alone, Redis killed.
 */
export class Cluster {
  constructor(db) {
    this.db = db;
    this.nodes = [];
    this.clients = [];
    this.redis = null;
  }

  /** RT_TEST_REDIS_ONE_NODE_CLUSTER=1 runs the suite on a one-node Redis Cluster instead
   *  (redis_one_node_cluster.mjs): what a cluster refuses shows as Redis errors. */
  /** One redis-server on port; with RT_TEST_REDIS_CLUSTER=1 a private Redis Cluster of 3
   *  masters and 3 replicas instead (the nodes then run with RT_REDIS_CLUSTER=1). */
  async startRedis(port) {
    if (process.env.RT_TEST_REDIS_CLUSTER === '1') return this.startRedisCluster();
    this.redis = process.env.RT_TEST_REDIS_ONE_NODE_CLUSTER === '1'
      ? await new OneNodeClusterRedis(port <= 55535 ? port : await OneNodeClusterRedis.freePort()).start()
      : await new Redis(port).start();
    return this.redis;
  }

  /** A private Redis Cluster (redis_cluster_helpers.mjs) for the nodes, stopped at shutdown. */
  async startRedisCluster(opts = { masters: 3, replicas: 1 }) {
    this.redis = await new RedisCluster(opts).start();
    return this.redis;
  }

  /** Starts a node named `name` with RT_NODE_ID nodeId and waits for /ready (readyMs). */
  async startNode(name, nodeId, { port, env = {}, args = [], readyMs = 10000 } = {}) {
    const node = await startServer({
      dbUrl: this.db, redisUrl: this.redis.url, port, args, waitReady: false,
      env: { RT_NODE_ID: nodeId, ...env },
    });
    node.name = name;
    node.nodeId = nodeId;
    node.killed = false;
    this.nodes.push(node);
    await waitReady(node, readyMs);
    return node;
  }

  /** kill -9; resolves with the exit of the process ({code: null, signal: 'SIGKILL'}). */
  async kill(node) {
    node.killed = true;
    return node.kill();
  }

  /** A pusher-js client on node (see recordingClient), disconnected at shutdown. */
  client(node, app, opts = {}) {
    const c = recordingClient(node, app, opts);
    this.clients.push(c);
    return c;
  }

  async shutdown() {
    for (const c of this.clients) c.disconnect();
    const errors = [];
    for (const node of this.nodes) {
      if (node.killed) continue;
      try { await node.stop(); } catch (e) { errors.push(`node ${node.name}: ${e.message}`); }
    }
    if (this.redis instanceof RedisCluster) await this.redis.stop();
    else await this.redis?.kill();
    if (errors.length) throw new Error(errors.join('\n'));
  }
}

/**
 * A real pusher-js client on node; presence/private channels are authorized with the `pusher`
 * SDK (helpers.pusherClient). `wire` holds every frame pusher-js decoded, in order
 * ({event, channel, data}), so tests see pusher_internal:* frames exactly as sent.
 * opts: as pusherClient ({presence: {user_id, user_info}, user: {id, ...}}); record: false keeps
 * no frames (for clients that only generate load).
 */
export function recordingClient(node, app, opts = {}) {
  const c = pusherClient(node, app, opts);
  c.node = node;
  c.wire = [];
  if (opts.record === false) c.unbind_global(); // a load client: keep nothing it receives
  // A copy: pusher-js keeps (and later mutates) the presence hash of subscription_succeeded.
  else c.connection.bind('message', (m) => c.wire.push(structuredClone(m)));
  return c;
}

/** `data` of every frame of `event` on channel the client received, in order. */
export function frames(client, channel, event) {
  return client.wire.filter((m) => m.channel === channel && m.event === event).map((m) => m.data);
}

/** The user ids of every member_added / member_removed frame on channel, in order. */
export const addedIds = (client, channel) => frames(client, channel, 'pusher_internal:member_added').map((d) => d.user_id);
export const removedIds = (client, channel) => frames(client, channel, 'pusher_internal:member_removed').map((d) => d.user_id);

/** The presence snapshot of pusher_internal:subscription_succeeded (the last one) on channel. */
export function snapshot(client, channel) {
  const all = frames(client, channel, 'pusher_internal:subscription_succeeded');
  const p = all.at(-1)?.presence;
  return p && { count: p.count, ids: [...p.ids].sort(), hash: sortKeys(p.hash) };
}

export function sortKeys(obj) {
  return Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** pusher-js's view of a presence channel: {count, members: {id: info} sorted by id}. */
export function membersView(client, channel) {
  const ch = client.channel(channel);
  const members = {};
  ch?.members.each((m) => { members[m.id] = m.info; });
  return { count: ch?.members.count ?? 0, members: sortKeys(members) };
}

/** Connects, subscribes and resolves once subscription_succeeded arrived (5 s). */
export async function join(client, channel) {
  await waitFor(() => client.connection.state === 'connected', 5000, `${client.node.name}: pusher-js connected`);
  return subscribed(client, channel);
}

/** Subscribes and resolves with the subscription_error data (rejects after 5 s or on success). */
export function joinRefused(client, channel) {
  return new Promise((resolve, reject) => {
    const ch = client.subscribe(channel);
    const t = setTimeout(() => reject(new Error(`no subscription_error on ${channel} within 5 s`)), 5000);
    ch.bind('pusher:subscription_error', (e) => { clearTimeout(t); resolve(e); });
    ch.bind('pusher:subscription_succeeded', () => { clearTimeout(t); reject(new Error(`subscription to ${channel} succeeded`)); });
  });
}

/**
 * Polls fn() (every `every` ms) until its value deep-equals expected; after ms fails with the
 * last value seen against the expected one. Returns the elapsed milliseconds.
 */
export async function eventually(fn, expected, ms, what, every = 100) {
  const start = Date.now();
  for (;;) {
    let last, error;
    try { last = await fn(); } catch (e) { error = e; }
    if (!error && isDeepStrictEqual(last, expected)) return Date.now() - start;
    if (Date.now() - start > ms) {
      if (error) throw new Error(`${what}: not reached within ${ms} ms; last attempt failed: ${error.message}`);
      assert.deepEqual(last, expected, `${what}: not reached within ${ms} ms`);
    }
    await sleep(every);
  }
}

/** Asserts that fn() deep-equals expected at every poll for ms (nothing changes meanwhile). */
export async function stays(fn, expected, ms, what, every = 100) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    assert.deepEqual(await fn(), expected, what);
    await sleep(every);
  }
}

/**
 * A REST GET through the `pusher` SDK: {status, body}. A refused request (the SDK's
 * RequestError) is returned, not thrown, so tests can assert on status and body alike.
 */
export async function get(node, app, path, params) {
  return sdk(restClient(node, app).get({ path, params }));
}

/** Runs a `pusher` SDK call: {status, body} with body parsed as JSON when it is JSON. */
export async function sdk(promise) {
  try {
    const res = await promise;
    const text = await res.text();
    return { status: res.status, body: parse(text) };
  } catch (e) {
    if (e.status === undefined) throw e;
    return { status: e.status, body: parse(e.body) };
  }
}

function parse(text) {
  try { return JSON.parse(text); } catch { return text; }
}

/** Body of a GET expected to succeed (asserts 200). */
export async function getJson(node, app, path, params) {
  const r = await get(node, app, path, params);
  assert.equal(r.status, 200, `GET ${path} on ${node.name}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** GET /channels/{presence}/users as a sorted id list. */
export async function userIds(node, app, channel) {
  const body = await getJson(node, app, `/channels/${channel}/users`);
  return body.users.map((u) => u.id).sort();
}

/** Samples the VmRSS (KB) of some pids every 100 ms until stop(); peak per pid. */
export class RssSampler {
  constructor(nodes) {
    this.nodes = nodes;
    this.peak = new Map(nodes.map((n) => [n.name, 0]));
    this.sample();
    this.timer = setInterval(() => this.sample(), 100);
  }

  sample() {
    for (const n of this.nodes) {
      if (!alive(n)) continue;
      try { this.peak.set(n.name, Math.max(this.peak.get(n.name), rssKb(n.proc.pid))); } catch { /* exited meanwhile */ }
    }
  }

  stop() {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

/**
 * A local webhook receiver on a fixed port that records every POST. `reply(hit)` decides the
 * status (default 200; 'hang' never answers); down() closes the port (connections refused)
 * and up() opens it again.
 */
export async function webhookReceiver() {
  const r = { hits: [], reply: () => 200, sockets: new Set() };
  r.port = await freePort();
  r.url = `http://127.0.0.1:${r.port}/hook`;
  r.up = () => new Promise((resolve) => {
    r.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const hit = { headers: req.headers, body, json: JSON.parse(body), at: Date.now() };
        r.hits.push(hit);
        const status = r.reply(hit);
        if (status === 'hang') return;
        res.writeHead(status);
        res.end();
      });
    });
    r.server.on('connection', (s) => { r.sockets.add(s); s.on('close', () => r.sockets.delete(s)); });
    r.server.listen(r.port, '127.0.0.1', resolve);
  });
  r.down = () => new Promise((resolve) => {
    for (const s of r.sockets) s.destroy();
    r.server.close(resolve);
  });
  r.events = () => r.hits.flatMap((h) => h.json.events);
  r.about = (channel) => r.events().filter((e) => e.channel === channel).map((e) => e.name + (e.user_id ? `:${e.user_id}` : ''));
  await r.up();
  return r;
}
