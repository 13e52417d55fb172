#!/usr/bin/env node
// rtbench: load benchmarks for Realtime or any Pusher Channels-compatible server (e.g. soketi).
//
//   node rtbench.mjs --local                              # starts its own rtserver (fresh DB + app)
//   node rtbench.mjs --host 127.0.0.1 --port 6101 --app-id app-id --key app-key --secret app-secret \
//                    --server-pid $(cat /tmp/peers/run/soketi-6101.pid) --name soketi
//
// Scenarios (--scenarios, comma-separated; default all):
//   connect        open N WebSockets (--connections, default 2000), connections/s, server RSS per connection
//   fanout         N subscribers on one public channel (--subscribers, default 1000), M REST events
//                  (--events, default 200, one every --interval ms): end-to-end latency, deliveries/s, loss
//   publish        REST trigger throughput, K concurrent keep-alive requests (--concurrency, default 32,
//                  --requests, default 5000) on a channel with --publish-subscribers (default 3)
//   client-events  --pairs (default 250) of clients on private channels exchanging client events at
//                  --rate per connection per second (default 5, below the usual limit of 10) for --duration s
// Every loop is bounded in count and in time. Only 127.0.0.1/localhost is accepted as host.
// --json prints one machine-readable JSON document instead of tables. Exit status 1 when a
// scenario failed, lost a message, or had failed connections or requests.
import http from 'node:http';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import Pusher from 'pusher';
import WebSocket from 'ws';

const SCENARIOS = ['connect', 'fanout', 'publish', 'client-events'];
const MAX_SOCKETS = 8000; // the machine's hard limit is 20000 fds per process; stay well below

// ---------------------------------------------------------------------------------------------
// options

const DEFAULTS = {
  host: '127.0.0.1', port: 0, 'app-id': '', key: '', secret: '', local: false, name: '',
  'server-pid': 0, scenarios: SCENARIOS.join(','), json: false,
  connections: 2000, batch: 100,
  subscribers: 1000, events: 200, interval: 5,
  requests: 5000, concurrency: 32, 'publish-subscribers': 3, 'publish-seconds': 20,
  pairs: 250, rate: 5, duration: 5,
  timeout: 10, settle: 1000,
};
const BOOL = new Set(['local', 'json', 'help']);

function parseArgs(argv) {
  const o = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    if (!a.startsWith('--')) die(`unexpected argument: ${a}`);
    a = a.slice(2);
    let v;
    const eq = a.indexOf('=');
    if (eq >= 0) { v = a.slice(eq + 1); a = a.slice(0, eq); }
    if (!(a in DEFAULTS) && !BOOL.has(a)) die(`unknown option --${a} (see --help)`);
    if (BOOL.has(a)) { o[a] = v === undefined ? true : v !== 'false'; continue; }
    if (v === undefined) { v = argv[++i]; if (v === undefined) die(`--${a} needs a value`); }
    o[a] = typeof DEFAULTS[a] === 'number' ? Number(v) : v;
    if (typeof DEFAULTS[a] === 'number' && !Number.isFinite(o[a])) die(`--${a} must be a number`);
  }
  return o;
}

function die(msg) { process.stderr.write(`rtbench: ${msg}\n`); process.exit(2); }

const HELP = (() => {
  const lines = readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(1);
  const end = lines.findIndex((l) => !l.startsWith('//'));
  return lines.slice(0, end).map((l) => l.replace(/^\/\/ ?/, '')).join('\n');
})();

// ---------------------------------------------------------------------------------------------
// small helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

function percentile(sorted, p) {
  if (!sorted.length) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

function latencyStats(arr, n = arr.length) {
  const s = Float64Array.from(arr.subarray ? arr.subarray(0, n) : arr.slice(0, n)).sort();
  const r = (x) => (x == null ? null : Math.round(x * 100) / 100);
  let sum = 0;
  for (const x of s) sum += x;
  return {
    count: s.length,
    mean: r(s.length ? sum / s.length : null),
    p50: r(percentile(s, 50)), p90: r(percentile(s, 90)), p99: r(percentile(s, 99)), max: r(s.length ? s[s.length - 1] : null),
  };
}

function readRssKb(pid) {
  if (!pid) return null;
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch { return null; }
}

const CLK_TCK = 100; // Linux USER_HZ
function readCpuMs(pid) {
  if (!pid) return null;
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // utime + stime
  } catch { return null; }
}

function softFdLimit() {
  try {
    const m = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m && m[1] !== 'unlimited' ? Number(m[1]) : Infinity;
  } catch { return Infinity; }
}

/** Measures server CPU (via /proc), client CPU and client event-loop delay over a phase. */
class PhaseMeter {
  constructor(pid) {
    this.pid = pid;
    this.h = monitorEventLoopDelay({ resolution: 5 });
    this.h.enable();
    this.t0 = now();
    this.cpu0 = process.cpuUsage();
    this.srv0 = readCpuMs(pid);
  }
  stop() {
    this.h.disable();
    const wall = now() - this.t0;
    const c = process.cpuUsage(this.cpu0);
    const srv1 = readCpuMs(this.pid);
    return {
      wall_ms: Math.round(wall),
      client_cpu_pct: Math.round(((c.user + c.system) / 1000 / wall) * 100),
      client_loop_delay_p99_ms: Math.round((this.h.percentile(99) / 1e6) * 10) / 10,
      server_cpu_ms: srv1 == null || this.srv0 == null ? null : Math.round(srv1 - this.srv0),
      server_cpu_pct: srv1 == null || this.srv0 == null ? null : Math.round(((srv1 - this.srv0) / wall) * 100),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Pusher protocol client (minimal, on ws)

class Client {
  constructor(ws) {
    this.ws = ws;
    this.socketId = null;
    this.pending = new Map(); // channel -> {resolve, reject}
    this.onEvent = null; // (msg, raw) => void
    this.errors = [];
  }

  send(obj) { this.ws.send(JSON.stringify(obj)); }

  subscribe(channel, auth, timeoutMs) {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { this.pending.delete(channel); reject(new Error('subscribe timeout')); }, timeoutMs);
      this.pending.set(channel, { resolve: () => { clearTimeout(t); resolve(); }, reject: (e) => { clearTimeout(t); reject(e); } });
      this.send({ event: 'pusher:subscribe', data: auth ? { channel, auth } : { channel } });
    });
  }

  handle(raw) {
    let msg;
    try { msg = JSON.parse(raw); } catch { return; }
    switch (msg.event) {
      case 'pusher:ping': this.send({ event: 'pusher:pong', data: {} }); return;
      case 'pusher_internal:subscription_succeeded': {
        const p = this.pending.get(msg.channel);
        if (p) { this.pending.delete(msg.channel); p.resolve(); }
        return;
      }
      case 'pusher:subscription_error': {
        const p = this.pending.get(msg.channel);
        if (p) { this.pending.delete(msg.channel); p.reject(new Error(`subscription_error ${JSON.stringify(msg.data)}`)); }
        return;
      }
      case 'pusher:error': {
        const d = typeof msg.data === 'string' ? safeParse(msg.data) : msg.data;
        this.errors.push(d && d.code != null ? `${d.code} ${d.message || ''}`.trim() : String(msg.data));
        if (this.onError) this.onError(d);
        return;
      }
      default:
        if (this.onEvent) this.onEvent(msg, raw);
    }
  }

  close() { try { this.ws.terminate(); } catch { /* already gone */ } }
}

function safeParse(s) { try { return JSON.parse(s); } catch { return null; } }

function connectClient(target, timeoutMs) {
  return new Promise((resolve, reject) => {
    const url = `ws://${target.host}:${target.port}/app/${target.key}?protocol=7&client=rtbench&version=1.0.0`;
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    const c = new Client(ws);
    let done = false;
    const t = setTimeout(() => fail(new Error('connection_established timeout')), timeoutMs);
    function fail(e) { if (done) return; done = true; clearTimeout(t); ws.terminate(); reject(e); }
    ws.on('error', (e) => fail(e));
    ws.on('close', (code) => fail(new Error(`closed before established (${code})`)));
    ws.on('message', (buf) => {
      const raw = buf.toString();
      if (!done) {
        const msg = safeParse(raw);
        if (msg && msg.event === 'pusher:connection_established') {
          const d = typeof msg.data === 'string' ? JSON.parse(msg.data) : msg.data;
          c.socketId = d.socket_id;
          done = true;
          clearTimeout(t);
          ws.removeAllListeners('close');
          ws.on('close', () => { c.closed = true; });
          resolve(c);
        } else if (msg && msg.event === 'pusher:error') {
          fail(new Error(`pusher:error ${JSON.stringify(msg.data)}`));
        }
        return;
      }
      c.handle(raw);
    });
  });
}

/** Opens n clients with at most `window` handshakes in flight. Returns {clients, failed, errors}. */
async function openMany(target, n, window, timeoutMs, deadlineMs, onOpen) {
  const clients = [];
  const errors = {};
  let next = 0;
  let failed = 0;
  const deadline = now() + deadlineMs;
  async function lane() {
    while (next < n && now() < deadline) {
      const i = next++;
      const t0 = now();
      try {
        const c = await connectClient(target, timeoutMs);
        c.index = i;
        clients.push(c);
        if (onOpen) onOpen(c, now() - t0);
      } catch (e) {
        failed++;
        const k = String(e.message || e).slice(0, 80);
        errors[k] = (errors[k] || 0) + 1;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(window, n) }, lane));
  failed += n - next; // not attempted before the deadline
  return { clients, failed, errors };
}

async function subscribeAll(clients, channelOf, authOf, window, timeoutMs) {
  let next = 0;
  let failed = 0;
  const errors = {};
  async function lane() {
    while (next < clients.length) {
      const c = clients[next++];
      const ch = channelOf(c);
      try { await c.subscribe(ch, authOf ? authOf(c, ch) : undefined, timeoutMs); } catch (e) {
        failed++;
        const k = String(e.message || e).slice(0, 120);
        errors[k] = (errors[k] || 0) + 1;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(window, clients.length) }, lane));
  return { failed, errors };
}

function closeAll(clients) { for (const c of clients) c.close(); }

function channelAuth(target, socketId, channel) {
  const sig = createHmac('sha256', target.secret).update(`${socketId}:${channel}`).digest('hex');
  return `${target.key}:${sig}`;
}

function restClient(target, maxSockets) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const pusher = new Pusher({
    appId: String(target.appId), key: target.key, secret: target.secret,
    host: target.host, port: String(target.port), useTLS: false, agent, timeout: 10000,
  });
  return { pusher, agent };
}

async function waitUntil(pred, ms) {
  const deadline = now() + ms;
  while (!pred() && now() < deadline) await sleep(20);
  return pred();
}

const tag = () => randomBytes(4).toString('hex');

// ---------------------------------------------------------------------------------------------
// scenarios

async function scenarioConnect(target, o) {
  const n = o.connections;
  const rssBefore = readRssKb(target.pid);
  const meter = new PhaseMeter(target.pid);
  const hs = new Float64Array(n);
  let hsN = 0;
  const t0 = now();
  const { clients, failed, errors } = await openMany(target, n, o.batch, o.timeout * 1000, 60000,
    (c, ms) => { hs[hsN++] = ms; });
  const elapsed = (now() - t0) / 1000;
  const phase = meter.stop();
  await sleep(o.settle);
  const rssAfter = readRssKb(target.pid);
  closeAll(clients);
  await sleep(o.settle);
  const rssClosed = readRssKb(target.pid);
  const ok = clients.length;
  return {
    connections: n, batch: o.batch, established: ok, failed, errors,
    seconds: round(elapsed, 2),
    connections_per_s: Math.round(ok / elapsed),
    handshake_ms: latencyStats(hs, hsN),
    rss_before_kb: rssBefore, rss_after_kb: rssAfter, rss_after_close_kb: rssClosed,
    bytes_per_connection: rssBefore != null && rssAfter != null && ok ? Math.round(((rssAfter - rssBefore) * 1024) / ok) : null,
    ...phase,
  };
}

async function scenarioFanout(target, o) {
  const n = o.subscribers;
  const m = o.events;
  const channel = `bench-fanout-${tag()}`;
  const setup0 = now();
  const { clients, failed: connFailed, errors: connErrors } = await openMany(target, n, o.batch, o.timeout * 1000, 60000);
  const sub = await subscribeAll(clients, () => channel, null, o.batch, o.timeout * 1000);
  const setupS = (now() - setup0) / 1000;
  const expected = clients.length * m;
  const lat = new Float64Array(Math.max(1, expected));
  let got = 0;
  let dup = 0;
  let foreign = 0;
  let firstRecv = 0;
  let lastRecv = 0;
  for (const c of clients) {
    c.seen = new Uint8Array(m);
    c.onEvent = (msg) => {
      if (msg.event !== 'bench' || msg.channel !== channel) { foreign++; return; }
      const t = now();
      const d = typeof msg.data === 'string' ? JSON.parse(msg.data) : msg.data;
      if (c.seen[d.i]) { dup++; return; }
      c.seen[d.i] = 1;
      if (got === 0) firstRecv = t;
      lastRecv = t;
      if (got < lat.length) lat[got] = t - d.t;
      got++;
    };
  }
  await sleep(200); // let subscription bookkeeping settle on every server
  const { pusher, agent } = restClient(target, 16);
  const rest = new Float64Array(m);
  let restErrors = 0;
  const restErrorMsgs = {};
  const meter = new PhaseMeter(target.pid);
  const pub0 = now();
  const calls = [];
  for (let i = 0; i < m; i++) {
    const due = pub0 + i * o.interval;
    const wait = due - now();
    if (wait > 1) await sleep(wait);
    const t = now();
    calls.push(pusher.trigger(channel, 'bench', { i, t }).then(
      () => { rest[i] = now() - t; },
      (e) => { restErrors++; rest[i] = now() - t; const k = String(e.status || e.message).slice(0, 80); restErrorMsgs[k] = (restErrorMsgs[k] || 0) + 1; },
    ));
  }
  const pubEnd = now();
  await Promise.all(calls);
  await waitUntil(() => got >= expected, o.timeout * 1000);
  const phase = meter.stop();
  closeAll(clients);
  agent.destroy();
  await sleep(o.settle);
  const window = (lastRecv - pub0) / 1000;
  return {
    subscribers: n, subscribed: clients.length - sub.failed, connect_failed: connFailed, subscribe_failed: sub.failed,
    errors: { ...connErrors, ...sub.errors, ...restErrorMsgs },
    events: m, interval_ms: o.interval, setup_s: round(setupS, 2),
    publish_s: round((pubEnd - pub0) / 1000, 2),
    expected_deliveries: expected, delivered: got, lost: expected - got, duplicates: dup, foreign,
    rest_errors: restErrors,
    deliveries_per_s: window > 0 ? Math.round(got / window) : null,
    first_to_last_s: round((lastRecv - firstRecv) / 1000, 2),
    latency_ms: latencyStats(lat, Math.min(got, lat.length)),
    rest_latency_ms: latencyStats(rest),
    ...phase,
  };
}

async function scenarioPublish(target, o) {
  const channel = `bench-publish-${tag()}`;
  const { clients, failed: connFailed } = await openMany(target, o['publish-subscribers'], o.batch, o.timeout * 1000, 30000);
  const sub = await subscribeAll(clients, () => channel, null, o.batch, o.timeout * 1000);
  let received = 0;
  for (const c of clients) c.onEvent = (msg) => { if (msg.event === 'bench' && msg.channel === channel) received++; };
  await sleep(200);
  const { pusher, agent } = restClient(target, o.concurrency);
  // warm-up: open the keep-alive connections
  await Promise.allSettled(Array.from({ length: o.concurrency }, (_, i) => pusher.trigger(channel, 'warmup', { i })));
  const total = o.requests;
  const lat = new Float64Array(total);
  let next = 0;
  let ok = 0;
  let errors = 0;
  const errMsgs = {};
  const deadline = now() + o['publish-seconds'] * 1000;
  const meter = new PhaseMeter(target.pid);
  const t0 = now();
  async function lane() {
    while (next < total && now() < deadline) {
      const i = next++;
      const t = now();
      try {
        await pusher.trigger(channel, 'bench', { i, t });
        ok++;
      } catch (e) {
        errors++;
        const k = String(e.status || e.message).slice(0, 80);
        errMsgs[k] = (errMsgs[k] || 0) + 1;
      }
      lat[i] = now() - t;
    }
  }
  await Promise.all(Array.from({ length: o.concurrency }, lane));
  const elapsed = (now() - t0) / 1000;
  const phase = meter.stop();
  const subscribed = clients.length - sub.failed;
  const expectedRecv = ok * subscribed;
  await waitUntil(() => received >= expectedRecv, o.timeout * 1000);
  closeAll(clients);
  agent.destroy();
  await sleep(o.settle);
  return {
    requests: next, concurrency: o.concurrency, subscribers: subscribed, connect_failed: connFailed,
    ok, errors, error_kinds: errMsgs,
    seconds: round(elapsed, 2),
    requests_per_s: Math.round(ok / elapsed),
    latency_ms: latencyStats(lat, next),
    expected_deliveries: expectedRecv, delivered: received, lost: expectedRecv - received,
    ...phase,
  };
}

async function scenarioClientEvents(target, o) {
  const pairs = o.pairs;
  const prefix = `private-bench-ce-${tag()}`;
  const { clients, failed: connFailed, errors: connErrors } = await openMany(target, pairs * 2, o.batch, o.timeout * 1000, 60000);
  clients.sort((a, b) => a.index - b.index);
  const channelOf = (c) => `${prefix}-${c.index >> 1}`;
  const sub = await subscribeAll(clients, channelOf, (c, ch) => channelAuth(target, c.socketId, ch), o.batch, o.timeout * 1000);
  // only pairs whose both members are connected and subscribed take part
  const byPair = new Map();
  for (const c of clients) {
    const p = c.index >> 1;
    if (!byPair.has(p)) byPair.set(p, []);
    byPair.get(p).push(c);
  }
  const active = [...byPair.values()].filter((p) => p.length === 2 && p.every((c) => !c.pending.size));
  const perConn = Math.max(1, Math.floor(o.rate * o.duration));
  const expected = active.length * 2 * perConn;
  const lat = new Float64Array(Math.max(1, expected));
  let got = 0;
  let sent = 0;
  let sendErrors = 0;
  let lastRecv = 0;
  for (const [a, b] of active) {
    for (const [me, peer] of [[a, b], [b, a]]) {
      me.channel = channelOf(me);
      me.onEvent = (msg) => {
        if (msg.event !== 'client-bench' || msg.channel !== me.channel) return;
        const t = now();
        const d = typeof msg.data === 'string' ? JSON.parse(msg.data) : msg.data;
        if (got < lat.length) lat[got] = t - d.t;
        got++;
        lastRecv = t;
      };
      me.peer = peer;
    }
  }
  await sleep(200);
  const meter = new PhaseMeter(target.pid);
  const t0 = now();
  const period = 1000 / o.rate;
  const timers = [];
  await new Promise((resolve) => {
    let running = 0;
    for (const pair of active) {
      for (const c of pair) {
        running++;
        let k = 0;
        const startIn = Math.random() * period; // spread the senders over one period
        const tick = () => {
          if (k >= perConn || c.closed) { running--; if (!running) resolve(); return; }
          k++;
          try { c.send({ event: 'client-bench', channel: c.channel, data: { t: now(), k } }); sent++; } catch { sendErrors++; }
          timers.push(setTimeout(tick, period));
        };
        timers.push(setTimeout(tick, startIn));
      }
    }
    if (!running) resolve();
    timers.push(setTimeout(resolve, (o.duration + 5) * 1000)); // hard bound
  });
  for (const t of timers) clearTimeout(t);
  const sendS = (now() - t0) / 1000;
  await waitUntil(() => got >= sent, o.timeout * 1000);
  const phase = meter.stop();
  const errs = {};
  for (const c of clients) for (const e of c.errors) errs[e] = (errs[e] || 0) + 1;
  closeAll(clients);
  await sleep(o.settle);
  return {
    pairs, active_pairs: active.length, connect_failed: connFailed, subscribe_failed: sub.failed,
    connect_errors: { ...connErrors, ...sub.errors },
    rate_per_conn: o.rate, duration_s: o.duration,
    sent, relayed: got, lost: sent - got, send_errors: sendErrors, server_errors: errs,
    relayed_per_s: Math.round(got / ((lastRecv - t0) / 1000 || 1)),
    send_s: round(sendS, 2),
    latency_ms: latencyStats(lat, Math.min(got, lat.length)),
    ...phase,
  };
}

function hasProblems(r) {
  return ['lost', 'failed', 'connect_failed', 'subscribe_failed', 'rest_errors', 'send_errors']
    .some((k) => r[k] > 0) || (typeof r.errors === 'number' && r.errors > 0);
}

function round(x, d) { const f = 10 ** d; return Math.round(x * f) / f; }

// ---------------------------------------------------------------------------------------------
// output

function fmt(v) {
  if (v == null) return '-';
  if (typeof v === 'object') return Object.keys(v).length ? JSON.stringify(v) : '-';
  if (typeof v === 'number') return v.toLocaleString('en-US');
  return String(v);
}

function table(title, rows) {
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = [`\n== ${title}`, ...rows.map(([k, v]) => `  ${k.padEnd(w)}  ${fmt(v)}`)];
  process.stdout.write(lines.join('\n') + '\n');
}

function lat(prefix, s) {
  return [[`${prefix} p50 / p90 / p99 / max`, s && s.count ? `${s.p50} / ${s.p90} / ${s.p99} / ${s.max}` : '-']];
}

function phaseRows(r) {
  return [
    ['server CPU (ms, % of wall)', r.server_cpu_ms == null ? '-' : `${r.server_cpu_ms} ms (${r.server_cpu_pct}%)`],
    ['client CPU (% of wall)', `${r.client_cpu_pct}%`],
    ['client event-loop delay p99 (ms)', r.client_loop_delay_p99_ms],
  ];
}

const PRINTERS = {
  connect: (r) => table('connect', [
    ['connections (batch in flight)', `${r.connections} (${r.batch})`],
    ['established / failed', `${r.established} / ${r.failed}`],
    ['errors', r.errors],
    ['time (s)', r.seconds],
    ['connections/s', r.connections_per_s],
    ...lat('handshake ms', r.handshake_ms),
    ['server RSS before (kB)', r.rss_before_kb],
    ['server RSS with all open (kB)', r.rss_after_kb],
    ['server RSS after close (kB)', r.rss_after_close_kb],
    ['server bytes per connection', r.bytes_per_connection],
    ...phaseRows(r),
  ]),
  fanout: (r) => table('fanout', [
    ['subscribers (subscribed)', `${r.subscribers} (${r.subscribed})`],
    ['events x interval', `${r.events} x ${r.interval_ms} ms (published in ${r.publish_s} s)`],
    ['setup (connect+subscribe) s', r.setup_s],
    ['deliveries expected / received', `${r.expected_deliveries} / ${r.delivered}`],
    ['lost / duplicates', `${r.lost} / ${r.duplicates}`],
    ['REST errors', r.rest_errors],
    ['errors', r.errors],
    ['deliveries/s', r.deliveries_per_s],
    ...lat('end-to-end latency ms', r.latency_ms),
    ...lat('REST call latency ms', r.rest_latency_ms),
    ...phaseRows(r),
  ]),
  publish: (r) => table('publish', [
    ['requests (concurrency)', `${r.requests} (${r.concurrency})`],
    ['ok / errors', `${r.ok} / ${r.errors}`],
    ['error kinds', r.error_kinds],
    ['time (s)', r.seconds],
    ['requests/s', r.requests_per_s],
    ...lat('request latency ms', r.latency_ms),
    ['subscribers: expected / delivered', `${r.expected_deliveries} / ${r.delivered} (${r.subscribers} subscribers)`],
    ...phaseRows(r),
  ]),
  'client-events': (r) => table('client-events', [
    ['pairs (active)', `${r.pairs} (${r.active_pairs})`],
    ['rate per connection', `${r.rate_per_conn}/s for ${r.duration_s} s`],
    ['sent / relayed / lost', `${r.sent} / ${r.relayed} / ${r.lost}`],
    ['server errors', r.server_errors],
    ['connect/subscribe errors', r.connect_errors],
    ['relayed/s', r.relayed_per_s],
    ...lat('latency ms', r.latency_ms),
    ...phaseRows(r),
  ]),
};

// ---------------------------------------------------------------------------------------------
// main

async function startLocal(o) {
  const h = await import('../tests/harness/index.mjs');
  const dbUrl = h.createDatabase();
  // No backend rate limit (soketi has none by default either); client events on, default
  // 10/s per connection. max-connections stays at the default 10000 (> our 8000 cap).
  const app = h.createApp(dbUrl, ['--client-events', '--backend-events-per-second', '0'], 'rtbench');
  const server = await h.startServer({ dbUrl, env: { RT_LOG_LEVEL: 'warn' } });
  const dbName = /\/([^/?]+)(\?.*)?$/.exec(dbUrl)[1];
  return {
    target: { host: server.host, port: server.port, appId: app.id, key: app.key, secret: app.secret, pid: server.proc.pid },
    async cleanup() {
      try { await server.stop(); } finally {
        try { h.psql(h.PG_URL, `DROP DATABASE IF EXISTS ${dbName}`); } catch { /* best effort */ }
      }
    },
  };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.help) { process.stdout.write(HELP + '\n'); return; }
  const scenarios = o.scenarios.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of scenarios) if (!SCENARIOS.includes(s)) die(`unknown scenario ${s} (${SCENARIOS.join(', ')})`);
  for (const [k, v] of [['connections', o.connections], ['subscribers', o.subscribers], ['pairs*2', o.pairs * 2]]) {
    if (v > MAX_SOCKETS) die(`--${k.replace('*2', '')} gives ${v} sockets; keep it ≤ ${MAX_SOCKETS} (20000 fds per process on this machine)`);
    if (v < 1) die(`--${k.replace('*2', '')} must be ≥ 1`);
  }
  const need = Math.max(o.connections, o.subscribers, o.pairs * 2, o['publish-subscribers']) + o.concurrency + 64;
  const fdLimit = softFdLimit();
  if (need > fdLimit) die(`needs ~${need} file descriptors but the soft limit is ${fdLimit}; raise it with ulimit -n`);
  if (o.rate <= 0 || o.interval < 0 || o.events < 1 || o.requests < 1 || o.concurrency < 1) die('rates, counts and concurrency must be positive');

  let local = null;
  let target;
  if (o.local) {
    local = await startLocal(o);
    target = local.target;
  } else {
    if (!['127.0.0.1', 'localhost', '::1'].includes(o.host)) die('only loopback hosts are allowed (--host 127.0.0.1)');
    if (!o.port || !o['app-id'] || !o.key || !o.secret) die('give --local, or --port --app-id --key --secret');
    target = { host: o.host, port: o.port, appId: o['app-id'], key: o.key, secret: o.secret, pid: o['server-pid'] || 0 };
  }
  const name = o.name || (o.local ? 'rtserver (local)' : `${target.host}:${target.port}`);
  const info = {
    server: name, host: target.host, port: target.port, server_pid: target.pid || null,
    machine: { nproc: os.cpus().length, cpu: os.cpus()[0]?.model, loadavg_at_start: os.loadavg().map((x) => round(x, 2)), node: process.version },
    started_at: new Date().toISOString(),
    params: Object.fromEntries(Object.entries(o).filter(([k]) => !['secret', 'json'].includes(k))),
  };
  if (!o.json) {
    process.stdout.write(`rtbench → ${name} on ${target.host}:${target.port}` +
      `${target.pid ? ` (server pid ${target.pid})` : ''}; ${info.machine.nproc} CPUs, load ${info.machine.loadavg_at_start.join(' ')}\n`);
  }
  const results = {};
  let failed = false;
  const fns = { connect: scenarioConnect, fanout: scenarioFanout, publish: scenarioPublish, 'client-events': scenarioClientEvents };
  try {
    for (const s of scenarios) {
      if (!o.json) process.stdout.write(`\nrunning ${s}…`);
      try {
        results[s] = await fns[s](target, o);
        if (!o.json) PRINTERS[s](results[s]);
        if (hasProblems(results[s])) failed = true; // lost messages, failed sockets or requests
      } catch (e) {
        failed = true;
        results[s] = { error: String(e.stack || e) };
        if (!o.json) process.stdout.write(`\n${s} failed: ${e.stack || e}\n`);
      }
    }
  } finally {
    if (local) await local.cleanup();
  }
  if (o.json) process.stdout.write(JSON.stringify({ ...info, results }, null, 2) + '\n');
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => { process.stderr.write(`rtbench: ${e.stack || e}\n`); process.exit(1); });
