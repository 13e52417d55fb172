// Runs every ```sh block of docs/rtadmin.md, in order, against a fresh database, so the
// documented examples cannot drift from what rtadmin accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createEmptyDatabase, psql, BUILD_DIR, SOURCE_DIR, MASTER_KEY, REDIS_URL, freePort } from '../harness/index.mjs';
import { rows } from './cli-helpers.mjs';

const DOC = readFileSync(path.join(SOURCE_DIR, 'docs/rtadmin.md'), 'utf8');
const blocks = [...DOC.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]);

test('docs_have_examples_for_every_command', () => {
  const all = blocks.join('\n');
  for (const cmd of ['migrate', 'app create', 'app list', 'app show', 'app update', 'app enable',
    'app disable', 'app delete', 'key create', 'key list', 'key revoke', 'key rotate',
    'key show-secret', 'webhook add', 'webhook list', 'webhook remove', 'audit', 'trigger', 'stats',
    'channels', 'token', 'ingest failures']) {
    assert.match(all, new RegExp(`^rtadmin ${cmd}\\b|\\$\\(rtadmin ${cmd}\\b`, 'm'), cmd);
  }
});

test('every_documented_sh_example_runs_successfully', async () => {
  const url = createEmptyDatabase();
  const requests = [];
  // Stands in for rtserver: Prometheus text at /metrics, a channel list, {} for events.
  const server = http.createServer((req, res) => {
    requests.push(req.url);
    req.resume();
    req.on('end', () => {
      if (req.url === '/metrics') {
        res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
        res.end('# TYPE rt_connections gauge\nrt_connections 1\nrt_app_connections{app="1234567"} 1\n');
      } else if (req.url.startsWith('/apps/1234567/channels')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(req.url.includes('info=user_count') ? '{"channels":{"presence-room":{"user_count":2}}}' : '{"channels":{"my-channel":{}}}');
      } else {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{}');
      }
    });
  });
  const port = await freePort();
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  try {
    const script = `set -euo pipefail\n${blocks.map((b, i) => `echo "### block ${i}"\n${b}`).join('\n')}`;
    const r = await new Promise((resolve) => {
      const p = spawn('bash', ['-c', script], {
        env: {
          PATH: `${BUILD_DIR}:${process.env.PATH}`, USER: 'tester', HOME: process.env.HOME || '/root',
          RT_DATABASE_URL: url, RT_MASTER_KEY: MASTER_KEY, RT_SERVER_URL: `http://127.0.0.1:${port}`,
          // ingest failures reads the (absent) dead-letter stream of app 1234567
          RT_REDIS_URL: REDIS_URL,
        },
      });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      p.on('close', (code) => resolve({ code, out }));
    });
    assert.equal(r.code, 0, r.out);
  } finally {
    await new Promise((r) => server.close(r));
  }
  // What the examples did, end to end.
  assert.deepEqual(requests.map((u) => u.split('?')[0]), ['/apps/1234567/webhooks', '/apps/1234567/webhooks',
    '/apps/1234567/events', '/apps/1234567/events',
    '/metrics', '/metrics', '/metrics', '/apps/1234567/channels', '/apps/1234567/channels']);
  assert.deepEqual(rows(url, 'SELECT id, name, client_events, max_connections FROM apps ORDER BY name'), [
    { id: '1234567', name: 'Chat (prod)', client_events: false, max_connections: 500 },
    ...rows(url, "SELECT id, name, client_events, max_connections FROM apps WHERE name = 'Dashboard'"),
  ]);
  assert.equal(psql(url, "SELECT count(*) FROM app_keys WHERE app_id = '1234567' AND status = 'active'"), '1');
  assert.equal(psql(url, "SELECT string_agg(url || ' ' || batch_window_ms || ' ' || batch_max, ', ' ORDER BY id) FROM app_webhooks"),
    'https://hooks.example.com/presence 100 50, https://hooks.example.com/batched 500 100');
  assert.equal(psql(url, "SELECT count(*) FROM audit_log WHERE action = 'token.issue' AND app_id = '1234567'"), '3');
  assert.equal(psql(url, "SELECT jwt_algorithms, jwt_public_key IS NULL, require_token FROM apps WHERE id = '1234567'"), '{HS256}|t|f');
  assert.equal(psql(url, "SELECT ingest_redis_prefix, ingest_stream FROM apps WHERE id = '1234567'"), 'shop_database_|t');
  assert.equal(psql(url, "SELECT count(*) FROM audit_log WHERE action = 'app.update' AND details->'after' ? 'jwt_public_key'"), '2');
});
