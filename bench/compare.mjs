#!/usr/bin/env node
// Prints markdown tables comparing rtbench --json outputs side by side:
//   node compare.mjs realtime.json soketi.json [more.json…]
import { readFileSync } from 'node:fs';

const files = process.argv.slice(2);
if (files.length < 1) {
  process.stderr.write('usage: node compare.mjs A.json B.json [...]\n');
  process.exit(2);
}
const runs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')));

const n = (v) => (v == null ? '–' : typeof v === 'number' ? v.toLocaleString('en-US') : String(v));
const lat = (s) => (s && s.count ? `${s.p50} / ${s.p90} / ${s.p99} / ${s.max}` : '–');
const kb = (v) => (v == null ? '–' : `${(v / 1024).toFixed(1)} MB`);
const cpu = (r) => (r.server_cpu_ms == null ? '–' : `${n(r.server_cpu_ms)} ms (${r.server_cpu_pct}%)`);

const ROWS = {
  connect: [
    ['connections', (r) => `${n(r.established)} / ${n(r.connections)} (${r.batch} in flight)`],
    ['connections/s', (r) => n(r.connections_per_s)],
    ['handshake ms p50 / p90 / p99 / max', (r) => lat(r.handshake_ms)],
    ['server RSS before → all open', (r) => `${kb(r.rss_before_kb)} → ${kb(r.rss_after_kb)}`],
    ['server RSS after closing all', (r) => kb(r.rss_after_close_kb)],
    ['**server bytes per connection**', (r) => n(r.bytes_per_connection)],
    ['server CPU during connect', cpu],
    ['server CPU per connection (µs)', (r) => (r.server_cpu_ms == null ? '–' : n(Math.round((r.server_cpu_ms * 1000) / r.established)))],
    ['client CPU', (r) => `${r.client_cpu_pct}%`],
  ],
  fanout: [
    ['subscribers × events (interval)', (r) => `${n(r.subscribed)} × ${r.events} (${r.interval_ms} ms)`],
    ['delivered / expected', (r) => `${n(r.delivered)} / ${n(r.expected_deliveries)}`],
    ['**lost** / duplicates', (r) => `${n(r.lost)} / ${n(r.duplicates)}`],
    ['**deliveries/s**', (r) => n(r.deliveries_per_s)],
    ['**end-to-end ms p50 / p90 / p99 / max**', (r) => lat(r.latency_ms)],
    ['REST call ms p50 / p90 / p99 / max', (r) => lat(r.rest_latency_ms)],
    ['server CPU', cpu],
    ['server CPU per delivery (µs)', (r) => (r.server_cpu_ms == null || !r.delivered ? '–' : ((r.server_cpu_ms * 1000) / r.delivered).toFixed(1))],
    ['client CPU / loop delay p99', (r) => `${r.client_cpu_pct}% / ${r.client_loop_delay_p99_ms} ms`],
  ],
  publish: [
    ['requests (concurrency)', (r) => `${n(r.requests)} (${r.concurrency})`],
    ['ok / errors', (r) => `${n(r.ok)} / ${n(r.errors)}`],
    ['**requests/s**', (r) => n(r.requests_per_s)],
    ['**request ms p50 / p90 / p99 / max**', (r) => lat(r.latency_ms)],
    ['delivered / expected (subscribers)', (r) => `${n(r.delivered)} / ${n(r.expected_deliveries)} (${r.subscribers})`],
    ['server CPU', cpu],
    ['server CPU per request (µs)', (r) => (r.server_cpu_ms == null || !r.ok ? '–' : n(Math.round((r.server_cpu_ms * 1000) / r.ok)))],
    ['client CPU', (r) => `${r.client_cpu_pct}%`],
  ],
  'client-events': [
    ['pairs (rate per connection)', (r) => `${r.active_pairs} (${r.rate_per_conn}/s for ${r.duration_s} s)`],
    ['sent / relayed / **lost**', (r) => `${n(r.sent)} / ${n(r.relayed)} / ${n(r.lost)}`],
    ['errors from server', (r) => (Object.keys(r.server_errors || {}).length ? JSON.stringify(r.server_errors) : 'none')],
    ['**relayed/s**', (r) => n(r.relayed_per_s)],
    ['**latency ms p50 / p90 / p99 / max**', (r) => lat(r.latency_ms)],
    ['server CPU', cpu],
    ['server CPU per relayed event (µs)', (r) => (r.server_cpu_ms == null || !r.relayed ? '–' : n(Math.round((r.server_cpu_ms * 1000) / r.relayed)))],
  ],
};

const out = [];
for (const [scenario, rows] of Object.entries(ROWS)) {
  const cols = runs.map((r) => r.results && r.results[scenario]);
  if (!cols.some(Boolean)) continue;
  out.push(`### ${scenario}`, '', `| | ${runs.map((r) => r.server).join(' | ')} |`, `|---|${runs.map(() => '---:').join('|')}|`);
  for (const [label, f] of rows) {
    out.push(`| ${label} | ${cols.map((c) => (!c ? '–' : c.error ? 'failed' : f(c))).join(' | ')} |`);
  }
  out.push('');
}
process.stdout.write(out.join('\n'));
