// A private one-node Redis Cluster: one master serving all 16384 slots. It answers every
// command on one connection (no MOVED) and refuses a multi-key command across slots
// (CROSSSLOT), as any cluster does. It does not refuse a script that touches keys of several
// slots (Redis 7.0 checks only that they are local, and here every slot is), which a cluster of
// several masters would: scriptSlotViolations() finds those in a MONITOR record.
// Same interface as cluster_helpers' Redis (start, kill, url, port).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../harness/index.mjs';
import { RedisClient } from './ingest_helpers.mjs';

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export class OneNodeClusterRedis {
  /** A port for a cluster node: free, and so is its cluster bus port (+10000, so at most
   *  55535, or redis-server refuses to start). */
  static async freePort() {
    for (;;) {
      const port = 20000 + Math.floor(Math.random() * 35000);
      if ((await portFree(port)) && (await portFree(port + 10000))) return port;
    }
  }

  constructor(port) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
    this.proc = null;
  }

  /** Starts the node. Restarted, it comes back empty but with the slots it had (its
   *  nodes.conf is kept), like a master restarted without persistence. */
  async start() {
    if (this.dir) this.restarted = true;
    if (!this.dir) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rt-one-node-cluster-'));
      process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
      this.dir = dir;
    }
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--cluster-enabled', 'yes', '--cluster-config-file', path.join(this.dir, 'nodes.conf')],
    { stdio: 'ignore', cwd: this.dir });
    const proc = this.proc;
    this.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
    await waitFor(() => portOpen(this.port), 5000, `redis-server to listen on ${this.port}`);
    const redis = await RedisClient.connect(this.port);
    try {
      if (!/cluster_slots_assigned:16384/.test(await redis.command('CLUSTER', 'INFO')))
        await redis.command('CLUSTER', 'ADDSLOTSRANGE', 0, 16383);
      await waitFor(async () => /cluster_state:ok/.test(await redis.command('CLUSTER', 'INFO')), 10000,
        'the one-node cluster to reach cluster_state:ok');
    } finally {
      redis.close();
    }
    return this;
  }

  /** Redis's error replies since it started, by prefix ({ERR: 3, ...}, INFO errorstats). */
  async errorStats() {
    const redis = await RedisClient.connect(this.port);
    try {
      const out = {};
      for (const line of (await redis.command('INFO', 'errorstats')).split('\r\n')) {
        const m = /^errorstat_([^:]+):count=(\d+)/.exec(line);
        if (m) out[m[1]] = Number(m[2]);
      }
      return out;
    } finally {
      redis.close();
    }
  }

  /** SIGKILL and wait until the process is gone. Error replies other than those the server
   *  expects are printed first, so that a suite run on this Redis (RT_TEST_REDIS_ONE_NODE_CLUSTER=1)
   *  shows what a cluster refused. Expected: BUSYGROUP/NOGROUP (the stream readers), and after a
   *  restart CLUSTERDOWN (a restarted master refuses commands for its first 2 s). */
  async kill() {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      const { BUSYGROUP, NOGROUP, ...errors } = await this.errorStats().catch(() => ({}));
      if (this.restarted) delete errors.CLUSTERDOWN;
      if (Object.keys(errors).length) console.error(`one-node Redis Cluster on ${this.port}: error replies ${JSON.stringify(errors)}`);
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }
}

/**
 * Records every command Redis runs (MONITOR on a connection of its own), including those a
 * script runs ("[0 lua]" lines, right after their EVAL/EVALSHA: a script runs atomically).
 * lines() returns the record so far as [{client, args}].
 */
export class Monitor {
  static async start(port) {
    const m = new Monitor();
    m.socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve, reject) => { m.socket.once('connect', resolve); m.socket.once('error', reject); });
    m.text = '';
    m.socket.on('data', (d) => { m.text += d.toString('latin1'); });
    m.socket.write('MONITOR\r\n');
    await waitFor(() => m.text.startsWith('+OK\r\n'), 5000, 'MONITOR to start');
    return m;
  }

  lines() {
    const out = [];
    for (const line of this.text.split('\r\n')) {
      const m = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
      if (m) out.push({ client: m[1], args: [...m[2].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((a) => unquote(a[1])) });
    }
    return out;
  }

  close() { this.socket.destroy(); }
}

/** MONITOR's quoting (sdscatrepr) undone. */
function unquote(s) {
  return s.replace(/\\(x[0-9a-f]{2}|.)/g, (_, e) => {
    if (e[0] === 'x' && e.length === 3) return String.fromCharCode(parseInt(e.slice(1), 16));
    return { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' }[e] ?? e;
  });
}

/**
 * What a Redis Cluster of several masters would refuse or misroute among the scripts in a
 * MONITOR record (redis: a RedisClient on the same Redis, for COMMAND GETKEYS and CLUSTER
 * KEYSLOT). Per script run, one line each for:
 * - a key touched in another slot than its first declared key (the router sends the script to
 *   that key's master; another master's key is refused there), or touched with no key declared
 *   (such a script may be sent to any master);
 * - a PUBLISH or SPUBLISH from the script (only the master running it would see it).
 */
// Commands without keys (COMMAND GETKEYS answers them with an error).
const KEYLESS = new Set(['ASKING', 'AUTH', 'CLIENT', 'CLUSTER', 'COMMAND', 'CONFIG', 'DBSIZE', 'ECHO', 'EXEC', 'HELLO', 'INFO',
  'MONITOR', 'MULTI', 'PING', 'PSUBSCRIBE', 'PUBLISH', 'PUNSUBSCRIBE', 'READONLY', 'SCAN', 'SCRIPT', 'SELECT', 'SPUBLISH',
  'SSUBSCRIBE', 'SUBSCRIBE', 'SUNSUBSCRIBE', 'TIME', 'UNSUBSCRIBE']);

/** COMMAND GETKEYS and CLUSTER KEYSLOT on redis, remembered. */
function keyTools(redis) {
  const keysOf = new Map(), slotOf = new Map();
  return {
    async keys(args) {
      if (KEYLESS.has(args[0].toUpperCase())) return [];
      const id = JSON.stringify(args);
      if (!keysOf.has(id)) keysOf.set(id, await redis.command('COMMAND', 'GETKEYS', ...args).catch(() => []));
      return keysOf.get(id);
    },
    async slot(key) {
      if (!slotOf.has(key)) slotOf.set(key, await redis.command('CLUSTER', 'KEYSLOT', key));
      return slotOf.get(key);
    },
  };
}

/**
 * Commands in a MONITOR record (not those run by scripts) whose keys are not all in the slot of
 * the argument a cluster router takes for their key: argv[1], for EVAL/EVALSHA the first
 * declared key, for XREAD/XREADGROUP the first key after STREAMS. One line per command name.
 */
export async function routingViolations(redis, lines) {
  const tools = keyTools(redis);
  const out = new Set();
  for (const { client, args } of lines) {
    if (client === 'lua') continue;
    const cmd = args[0].toUpperCase();
    const keys = await tools.keys(args);
    if (keys.length === 0) continue;
    let routed = args[1];
    if (cmd === 'EVAL' || cmd === 'EVALSHA') routed = Number(args[2]) > 0 ? args[3] : undefined;
    if (cmd === 'XREAD' || cmd === 'XREADGROUP') routed = args[args.findIndex((a) => a.toUpperCase() === 'STREAMS') + 1];
    for (const key of keys) {
      if (routed === undefined || (await tools.slot(key)) !== (await tools.slot(routed)))
        out.add(`${args.slice(0, 2).join(' ')}: key ${key} is not in the slot of the routed argument ${routed}`);
    }
  }
  return [...out].sort();
}

export async function scriptSlotViolations(redis, lines) {
  const tools = keyTools(redis);
  const getKeys = tools.keys, keySlot = tools.slot;
  const out = new Set();
  const loaded = new Map(); // SHA-1 -> script text, from SCRIPT LOAD
  const nameOf = (text) => `script "${text.slice(0, 70).replace(/\s+/g, ' ')}…"`;
  let script = null; // {name, declared} of the script whose lines follow
  for (const { client, args } of lines) {
    const cmd = args[0]?.toUpperCase();
    if (client !== 'lua') {
      script = null;
      if (cmd === 'SCRIPT' && args[1]?.toUpperCase() === 'LOAD')
        loaded.set(createHash('sha1').update(Buffer.from(args[2], 'latin1')).digest('hex'), args[2]);
      if (cmd === 'EVAL' || cmd === 'EVALSHA') {
        const text = cmd === 'EVAL' ? args[1] : loaded.get(args[1].toLowerCase());
        const name = text ? nameOf(text) : `EVALSHA ${args[1]}`;
        script = { name, declared: Number(args[2]) > 0 ? args[3] : null };
      }
      continue;
    }
    if (!script) { out.add(`${cmd} run by a script whose EVAL was not seen`); continue; }
    if (cmd === 'PUBLISH' || cmd === 'SPUBLISH') { out.add(`${script.name}: ${cmd} from a script`); continue; }
    for (const key of await getKeys(args)) {
      if (script.declared === null) { out.add(`${script.name}: touches ${key} with no key declared`); continue; }
      if ((await keySlot(key)) !== (await keySlot(script.declared)))
        out.add(`${script.name}: touches ${key} outside the slot of its key ${script.declared}`);
    }
  }
  return [...out].sort();
}
