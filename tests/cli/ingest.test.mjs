// rtadmin and the Redis inlets (docs/ingest.md): the app settings --ingest-redis-prefix,
// --ingest-stream and --ingest-stream-max-length, and `rtadmin ingest failures` reading the
// dead-letter stream from Redis. The live path (servers writing dead letters) is in
// tests/integration/ingest.test.mjs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { freePort } from '../harness/index.mjs';
import { RedisClient } from '../integration/ingest_helpers.mjs';
import { freshDatabase, ok, expectCode, rows, auditRows, oneErrorLine } from './cli-helpers.mjs';

const servers = [];
after(() => { for (const s of servers) s.kill('SIGKILL'); });

/** A private redis-server (killed when the file ends): {url, client}. */
async function privateRedis() {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  servers.push(proc);
  for (let i = 0; i < 100; i++) {
    try { return { url: `redis://127.0.0.1:${port}`, client: await RedisClient.connect(port) }; } catch { await new Promise((r) => setTimeout(r, 50)); }
  }
  throw new Error('redis-server did not start');
}

test('app_update_sets_and_clears_the_ingest_settings_and_audits_them', () => {
  const { url, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'shop', '--json'])).json();
  assert.deepEqual([app.ingest_redis_prefix, app.ingest_stream, app.ingest_stream_max_length], [null, false, 100000]);
  const out = ok(run(['app', 'update', app.id, '--ingest-redis-prefix', 'shop_database_', '--ingest-stream',
    '--ingest-stream-max-length', '5000']));
  assert.equal(out.stdout, `Updated app ${app.id}:\n  ingest_redis_prefix: - -> shop_database_\n  ingest_stream: false -> true\n` +
    '  ingest_stream_max_length: 100000 -> 5000\n');
  assert.deepEqual(rows(url, 'SELECT ingest_redis_prefix, ingest_stream, ingest_stream_max_length FROM apps'),
    [{ ingest_redis_prefix: 'shop_database_', ingest_stream: true, ingest_stream_max_length: 5000 }]);
  const [entry] = auditRows(url, "action = 'app.update'");
  assert.deepEqual(entry.details.after, { ingest_redis_prefix: 'shop_database_', ingest_stream: true, ingest_stream_max_length: 5000 });
  ok(run(['app', 'update', app.id, '--no-ingest-redis-prefix', '--no-ingest-stream']));
  assert.deepEqual(rows(url, 'SELECT ingest_redis_prefix, ingest_stream FROM apps'), [{ ingest_redis_prefix: null, ingest_stream: false }]);
});

test('app_create_takes_the_ingest_settings_and_show_lists_them', () => {
  const { run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'shop', '--ingest-redis-prefix', 'laravel_database_', '--ingest-stream', '--json'])).json();
  assert.deepEqual([app.ingest_redis_prefix, app.ingest_stream], ['laravel_database_', true]);
  const shown = ok(run(['app', 'show', app.id])).stdout;
  assert.match(shown, /^ingest_redis_prefix +laravel_database_$/m);
  assert.match(shown, /^ingest_stream +true$/m);
  assert.match(shown, /^ingest_stream_max_length +100000$/m);
});

test('an_ingest_prefix_must_be_a_plain_name_and_the_length_in_range', () => {
  const { url, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'shop', '--json'])).json();
  const help = ' (see: rtadmin app update --help)';
  for (const bad of ['shop*', 'a b', 'x'.repeat(65), '', 'shöp_']) {
    assert.equal(oneErrorLine(expectCode(run(['app', 'update', app.id, '--ingest-redis-prefix', bad]), 2)),
      'rtadmin: --ingest-redis-prefix must be 1 to 64 characters of A-Z a-z 0-9 _ . : -' + help, bad);
  }
  assert.equal(oneErrorLine(expectCode(run(['app', 'update', app.id, '--ingest-stream-max-length', '99']), 2)),
    'rtadmin: --ingest-stream-max-length must be between 100 and 10000000, not 99' + help);
  assert.equal(oneErrorLine(expectCode(run(['app', 'update', app.id, '--ingest-redis-prefix', 'a_', '--no-ingest-redis-prefix']), 2)),
    'rtadmin: --ingest-redis-prefix and --no-ingest-redis-prefix contradict' + help);
  assert.deepEqual(rows(url, 'SELECT ingest_redis_prefix, ingest_stream_max_length FROM apps'), [{ ingest_redis_prefix: null, ingest_stream_max_length: 100000 }]);
});

test('two_apps_cannot_share_a_prefix_nor_have_one_starting_the_other', () => {
  const { url, run } = freshDatabase();
  const shop = ok(run(['app', 'create', '--name', 'shop', '--ingest-redis-prefix', 'shop_', '--json'])).json();
  const other = ok(run(['app', 'create', '--name', 'other', '--json'])).json();
  for (const prefix of ['shop_', 'shop_v2_', 'sho']) {
    const r = expectCode(run(['app', 'update', other.id, '--ingest-redis-prefix', prefix]), 1);
    assert.match(oneErrorLine(r), new RegExp(`ingest_redis_prefix "${prefix}" overlaps "shop_" of app ${shop.id}: one prefix may not start with another`), prefix);
  }
  ok(run(['app', 'update', other.id, '--ingest-redis-prefix', 'shopping_']));
  ok(run(['app', 'update', shop.id, '--ingest-redis-prefix', 'shop_']), 'its own prefix again');
  assert.deepEqual(rows(url, 'SELECT ingest_redis_prefix FROM apps ORDER BY ingest_redis_prefix'),
    [{ ingest_redis_prefix: 'shop_' }, { ingest_redis_prefix: 'shopping_' }]);
});

test('ingest_failures_lists_the_dead_letter_stream_oldest_first', async () => {
  const { url, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'shop', '--json'])).json();
  const redis = await privateRedis();
  const env = { RT_REDIS_URL: redis.url };
  assert.equal(ok(run(['ingest', 'failures', app.id], env)).stdout, 'No ingest failures recorded for this app.\n');
  const key = `rt:ingest:{${app.id}}:dead`;
  await redis.client.command('XADD', key, '*', 'source', 'stream', 'id', '1-0', 'reason', 'missing field "data"',
    'entry', '{"name":"a"}', 'at', '1764496931245');
  await redis.client.command('XADD', key, '*', 'source', 'pubsub', 'channel', 'shop_news', 'reason', 'Invalid channel name "x y"',
    'entry', '{"event":"E"}', 'at', '1764496932000');
  const all = ok(run(['ingest', 'failures', app.id, '--json'], env)).json();
  assert.deepEqual(all.map(({ dead_id: _, ...r }) => r), [
    { source: 'stream', ref: '1-0', reason: 'missing field "data"', entry: '{"name":"a"}', at: '2025-11-30 10:02:11Z' },
    { source: 'pubsub', ref: 'shop_news', reason: 'Invalid channel name "x y"', entry: '{"event":"E"}', at: '2025-11-30 10:02:12Z' },
  ]);
  const human = ok(run(['ingest', 'failures', app.id], env)).stdout.split('\n');
  assert.match(human[0], /^AT +SOURCE +REF +REASON +ENTRY$/);
  assert.match(human[1], /^2025-11-30 10:02:11Z +stream +1-0 +missing field "data" +\{"name":"a"\}$/);
  assert.equal(ok(run(['ingest', 'failures', app.id, '--limit', '1', '--json'], env)).json()[0].source, 'pubsub');
  const viaFlag = ok(run(['ingest', 'failures', app.id, '--json', '--redis-url', redis.url], { RT_REDIS_URL: '' }));
  assert.equal(viaFlag.json().length, 2);
  redis.client.close();
  assert.ok(url);
});

test('ingest_failures_errors_name_what_is_missing', async () => {
  const { run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'shop', '--json'])).json();
  assert.equal(oneErrorLine(expectCode(run(['ingest', 'failures', app.id], { RT_REDIS_URL: '' }), 1)),
    'rtadmin: RT_REDIS_URL is not set: the inlets and their failures live in the servers\' Redis (e.g. redis://127.0.0.1:6379); set it or pass --redis-url');
  const redis = await privateRedis();
  assert.match(oneErrorLine(expectCode(run(['ingest', 'failures', '999999'], { RT_REDIS_URL: redis.url }), 1)), /^rtadmin: no app with id '999999'/);
  const closed = await freePort();
  assert.equal(oneErrorLine(expectCode(run(['ingest', 'failures', app.id], { RT_REDIS_URL: `redis://127.0.0.1:${closed}` }), 1)),
    `rtadmin: cannot connect to Redis at 127.0.0.1:${closed} (RT_REDIS_URL): Connection refused`);
  assert.equal(oneErrorLine(expectCode(run(['ingest', 'failures', app.id, '--limit', '0'], { RT_REDIS_URL: redis.url }), 2)),
    "rtadmin: --limit must be a number from 1 to 1000, not '0' (see: rtadmin ingest failures --help)");
  redis.client.close();
});
