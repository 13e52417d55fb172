// A private Redis Cluster (Redis >= 7) for one test file: `masters` masters with `replicas`
// replicas each, every node a redis-server child of this process on 127.0.0.1 with free ports
// (client and cluster bus), no persistence, its files in a temp dir. Nodes 0..masters-1 start
// as masters (slots split evenly, in order), the others replicate them in turn. Commands go
// over a plain RESP socket (RedisClient of ingest_helpers.mjs), no npm client.
//
// Nothing outlives the test process: stop() kills every node; a process 'exit' hook does the
// same when a suite ends without it (--test-force-exit), and a watchdog shell holding a pipe
// from this process kills the nodes left in the pid files when this process dies any other
// way (even SIGKILL).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, sleep } from '../harness/index.mjs';
import { RedisClient } from './ingest_helpers.mjs';

const SLOTS = 16384;

/** Resolves like promise, or rejects after ms naming what. */
function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** One command on a fresh connection to 127.0.0.1:port; rejects on an error reply (its
 *  message is Redis's, e.g. "MOVED 866 127.0.0.1:40001"), a refused connection or after 3 s. */
export async function redisCommand(port, ...args) {
  const client = await within(RedisClient.connect(port), 3000, `connecting to Redis on ${port}`);
  try {
    return await within(client.command(...args), 3000, `${args[0]} on ${port}`);
  } finally {
    client.close();
  }
}

/** "key:value" lines of INFO or CLUSTER INFO as an object. */
function fields(text) {
  const out = {};
  for (const line of String(text).split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** CLUSTER NODES as [{id, port, flags[], master (id or '-')}]. */
function parseNodes(text) {
  return String(text).trim().split('\n').filter(Boolean).map((line) => {
    const [id, addr, flags, master] = line.split(' ');
    return { id, port: Number(addr.split('@')[0].split(':').pop()), flags: flags.split(','), master };
  });
}

function until(deadline, what, lastProblem) {
  if (Date.now() > deadline) throw new Error(`Redis Cluster: timed out waiting for ${what}${lastProblem ? ` (${lastProblem})` : ''}`);
}

export class RedisCluster {
  /** nodeTimeoutMs: --cluster-node-timeout; a dead master's replica takes over about
   *  2 × this after the kill. */
  constructor({ masters = 3, replicas = 1, nodeTimeoutMs = 1000 } = {}) {
    this.masters = masters;
    this.replicas = replicas;
    this.nodeTimeoutMs = nodeTimeoutMs;
    /** [{port, busPort, role ('master' | 'replica'), proc, id, alive}] */
    this.nodes = [];
    this.dir = null;
    this.url = null;
    this.onExit = () => this.killAll();
  }

  /** Starts the nodes, joins them, assigns slots and replicas, and waits until the cluster is
   *  healthy and every replica is in sync (10 s at most). */
  async start() {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'rt-redis-cluster-'));
    process.once('exit', this.onExit);
    this.startWatchdog();
    const taken = new Set();
    const port = async () => {
      for (;;) {
        const p = await freePort();
        if (!taken.has(p)) { taken.add(p); return p; }
      }
    };
    const total = this.masters * (1 + this.replicas);
    for (let i = 0; i < total; i++) {
      this.nodes.push({ port: 0, busPort: 0, role: i < this.masters ? 'master' : 'replica', proc: null, id: null, alive: false });
    }
    // A port that was free a moment ago may be held by someone's outgoing connection by the
    // time redis-server binds it: such a node is started again on other ports.
    await Promise.all(this.nodes.map(async (n) => {
      for (let attempt = 1; ; attempt++) {
        n.port = await port();
        n.busPort = await port();
        try {
          return await this.spawnNode(n);
        } catch (err) {
          if (attempt === 5 || !/Address already in use/.test(err.message)) throw err;
        }
      }
    }));
    for (const n of this.nodes) n.id = await redisCommand(n.port, 'CLUSTER', 'MYID');

    // Slots in even ranges, like redis-cli --cluster create; distinct config epochs so that no
    // epoch collision has to be resolved before the cluster agrees.
    for (let i = 0; i < this.masters; i++) {
      const lo = Math.floor((i * SLOTS) / this.masters);
      const hi = Math.floor(((i + 1) * SLOTS) / this.masters) - 1;
      await redisCommand(this.nodes[i].port, 'CLUSTER', 'ADDSLOTSRANGE', lo, hi);
    }
    for (let i = 0; i < total; i++) await redisCommand(this.nodes[i].port, 'CLUSTER', 'SET-CONFIG-EPOCH', i + 1);
    const first = this.nodes[0];
    for (const n of this.nodes.slice(1)) await redisCommand(n.port, 'CLUSTER', 'MEET', '127.0.0.1', first.port, first.busPort);

    const deadline = Date.now() + 10000;
    for (let i = this.masters; i < total; i++) {
      const master = this.nodes[(i - this.masters) % this.masters];
      for (;;) {
        try {
          await redisCommand(this.nodes[i].port, 'CLUSTER', 'REPLICATE', master.id);
          break;
        } catch (err) { // "ERR Unknown node": the MEET has not reached it yet
          until(deadline, `node ${this.nodes[i].port} to replicate ${master.port}`, err.message);
          await sleep(50);
        }
      }
    }
    this.url = `redis://${this.nodes.slice(0, this.masters).map((n) => `127.0.0.1:${n.port}`).join(',')}`;
    await this.waitHealthy(Math.max(0, deadline - Date.now()), { replicasInSync: true });
    return this;
  }

  /** Spawns node n's redis-server (nodes.conf in this.dir keeps its identity across restarts)
   *  and waits until it answers PING. */
  async spawnNode(n) {
    const args = [
      '--port', String(n.port), '--cluster-port', String(n.busPort), '--bind', '127.0.0.1',
      '--cluster-enabled', 'yes', '--cluster-config-file', path.join(this.dir, `${n.port}.conf`),
      '--cluster-node-timeout', String(this.nodeTimeoutMs),
      // A replica takes over however old its data (this cluster holds nothing worth waiting for).
      '--cluster-replica-validity-factor', '0',
      '--repl-diskless-sync-delay', '0',
      '--dir', this.dir, '--pidfile', path.join(this.dir, `${n.port}.pid`),
      '--logfile', path.join(this.dir, `${n.port}.log`),
      '--save', '', '--appendonly', 'no',
    ];
    n.proc = spawn('redis-server', args, { stdio: 'ignore' });
    n.exited = new Promise((resolve) => n.proc.on('exit', (code, signal) => resolve({ code, signal })));
    n.alive = true;
    const deadline = Date.now() + 5000;
    for (;;) {
      if (n.proc.exitCode !== null) {
        n.alive = false;
        throw new Error(`redis-server on ${n.port} exited (${n.proc.exitCode}):\n${this.log(n.port)}`);
      }
      try {
        if ((await redisCommand(n.port, 'PING')) === 'PONG') return;
      } catch { /* not listening yet */ }
      until(deadline, `redis-server on ${n.port} to answer PING`);
      await sleep(20);
    }
  }

  /** The log of the node on port (for failure messages). */
  log(port) {
    const file = path.join(this.dir, `${port}.log`);
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-30).join('\n') : '(no log)';
  }

  node(port) {
    const n = this.nodes.find((x) => x.port === port);
    if (!n) throw new Error(`no Redis Cluster node on port ${port}`);
    return n;
  }

  liveNodes() { return this.nodes.filter((n) => n.alive); }

  /** Runs one command on the node on port. */
  command(port, ...args) { return redisCommand(port, ...args); }

  /** Port of the master that serves key now (CLUSTER KEYSLOT, then CLUSTER SLOTS), asked of
   *  the first live node. */
  async masterOf(key) {
    const via = this.liveNodes()[0].port;
    const slot = await redisCommand(via, 'CLUSTER', 'KEYSLOT', key);
    for (const [lo, hi, [, masterPort]] of await redisCommand(via, 'CLUSTER', 'SLOTS')) {
      if (slot >= lo && slot <= hi) return masterPort;
    }
    throw new Error(`Redis Cluster: no node serves slot ${slot} of ${key}`);
  }

  /** SIGKILLs the master on port (a crash: nothing flushed) and waits until it is gone. */
  async killMaster(port) {
    const n = this.node(port);
    if (n.role !== 'master') throw new Error(`Redis Cluster: node ${port} is a ${n.role}, not a master`);
    await this.kill(n);
  }

  async kill(n) {
    if (!n.alive) return;
    n.proc.kill('SIGKILL');
    await n.exited;
    n.alive = false;
    rmSync(path.join(this.dir, `${n.port}.pid`), { force: true }); // the watchdog must not kill a reused pid
  }

  /**
   * Resolves once every live node says cluster_state:ok with all 16384 slots, and every live
   * node's CLUSTER SLOTS gives every slot to a live master and its CLUSTER NODES agrees with
   * every live node's own role (so after killMaster a replica was promoted and everyone knows
   * it). Sets each node's role from its own INFO replication. With replicasInSync, also waits until every live replica's link
   * to its master is up. Rejects after ms with what was still wrong.
   */
  async waitHealthy(ms = 15000, { replicasInSync = false } = {}) {
    const deadline = Date.now() + ms;
    let problem = null;
    for (;;) {
      problem = await this.healthProblem(replicasInSync).catch((err) => err.message);
      if (!problem) return;
      until(deadline, 'a healthy cluster', problem);
      await sleep(50);
    }
  }

  /** What keeps the cluster from being healthy now, or null. */
  async healthProblem(replicasInSync) {
    const live = this.liveNodes();
    const masters = new Set();
    for (const n of live) {
      const repl = fields(await redisCommand(n.port, 'INFO', 'replication'));
      n.role = repl.role === 'master' ? 'master' : 'replica';
      if (n.role === 'master') masters.add(n.port);
      if (replicasInSync && n.role === 'replica' && repl.master_link_status !== 'up') {
        return `${n.port}: master_link_status:${repl.master_link_status}`;
      }
    }
    const byId = new Map(live.map((n) => [n.id, n]));
    for (const n of live) {
      const info = fields(await redisCommand(n.port, 'CLUSTER', 'INFO'));
      if (info.cluster_state !== 'ok') return `${n.port}: cluster_state:${info.cluster_state}`;
      if (info.cluster_slots_ok !== String(SLOTS)) return `${n.port}: cluster_slots_ok:${info.cluster_slots_ok}`;
      if (info.cluster_known_nodes !== String(this.nodes.length)) return `${n.port}: cluster_known_nodes:${info.cluster_known_nodes}`;
      let covered = 0;
      for (const [lo, hi, [, masterPort]] of await redisCommand(n.port, 'CLUSTER', 'SLOTS')) {
        if (!masters.has(masterPort)) return `${n.port}: slots ${lo}-${hi} on ${masterPort}, not a live master`;
        covered += hi - lo + 1;
      }
      if (covered !== SLOTS) return `${n.port}: CLUSTER SLOTS covers ${covered} slots`;
      // CLUSTER SLOTS of Redis 7.0 leaves out replicas that have no replication offset yet
      // (an idle master), so who replicates whom is read from CLUSTER NODES.
      for (const v of parseNodes(await redisCommand(n.port, 'CLUSTER', 'NODES'))) {
        const peer = byId.get(v.id);
        if (!peer) continue;
        const role = v.flags.includes('master') ? 'master' : 'replica';
        if (role !== peer.role) return `${n.port} sees ${peer.port} as ${role}`;
        if (role === 'replica' && !(byId.get(v.master)?.role === 'master')) return `${n.port} sees ${peer.port} replicate a node that is no live master`;
      }
    }
    return null;
  }

  /**
   * Starts the killed node on port again, on the same ports and with its nodes.conf (so with
   * its cluster identity) but with no data. If its slots were taken over meanwhile (a replica
   * was promoted), Redis turns it into a replica of the new master, which sends it the data;
   * otherwise it serves its old slots again, empty. Resolves once the cluster is healthy again
   * with every replica in sync.
   */
  async restart(port, ms = 15000) {
    const n = this.node(port);
    if (n.alive) throw new Error(`Redis Cluster: node ${port} is running`);
    await this.spawnNode(n);
    await this.waitHealthy(ms, { replicasInSync: true });
  }

  /** Kills every node and removes the cluster's files. */
  async stop() {
    await Promise.all(this.nodes.map((n) => this.kill(n)));
    process.removeListener('exit', this.onExit);
    if (this.watchdog) this.watchdog.stdin.end();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Synchronous, for the 'exit' hook: SIGKILL whatever still runs. */
  killAll() {
    for (const n of this.nodes) if (n.alive && n.proc) { try { n.proc.kill('SIGKILL'); } catch { /* gone */ } }
  }

  /** A shell that waits for EOF on a pipe from this process (which comes when this process
   *  ends, however it ends), then kills the nodes whose pid files remain and removes the dir. */
  startWatchdog() {
    const script = 'read _; for f in "$1"/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done; rm -rf "$1"';
    this.watchdog = spawn('sh', ['-c', script, 'rt-redis-cluster-watchdog', this.dir], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    this.watchdog.unref();
    this.watchdog.stdin.unref?.();
    this.watchdog.stdin.on('error', () => {});
  }
}
