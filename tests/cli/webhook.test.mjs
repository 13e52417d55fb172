// rtadmin webhook add|list|remove: URL, event-kind and batch validation, storage and audit.
// (failures|retry and the list's last status need a running server: webhooks*.test.mjs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { psql } from '../harness/index.mjs';
import { freshDatabase, ok, expectCode, rows, auditRows, oneErrorLine } from './cli-helpers.mjs';

function withApp() {
  const db = freshDatabase();
  ok(db.run(['app', 'create', '--name', 'chat', '--id', '77']));
  return db;
}

test('webhook_add_stores_url_and_sorted_unique_event_kinds', () => {
  const { url, run } = withApp();
  const hook = ok(run(['webhook', 'add', '77', 'https://hooks.example/pusher',
    '--events', 'member_removed, channel_occupied,member_removed', '--json'])).json();
  assert.deepEqual((({ created_at, ...h }) => h)(hook),
    { id: 1, app_id: '77', url: 'https://hooks.example/pusher', event_types: ['channel_occupied', 'member_removed'],
      batch_window_ms: 100, batch_max: 50 });
  assert.deepEqual(rows(url, 'SELECT app_id, url, event_types FROM app_webhooks'),
    [{ app_id: '77', url: 'https://hooks.example/pusher', event_types: ['channel_occupied', 'member_removed'] }]);
});

test('webhook_add_without_events_means_every_kind', () => {
  const { url, run } = withApp();
  const r = ok(run(['webhook', 'add', '77', 'http://127.0.0.1:9000/hook']));
  assert.equal(r.stdout, 'Added webhook 1 to app 77: http://127.0.0.1:9000/hook (all events)\n');
  assert.equal(psql(url, 'SELECT event_types FROM app_webhooks'), '{}');
});

test('webhook_add_takes_the_batch_window_and_size_within_their_ranges', () => {
  const { url, run } = withApp();
  const hook = ok(run(['webhook', 'add', '77', 'https://h.example/', '--batch-window-ms', '0', '--batch-max', '1000', '--json'])).json();
  assert.equal(hook.batch_window_ms, 0);
  assert.equal(hook.batch_max, 1000);
  const cases = [
    [['--batch-window-ms', '10001'], "rtadmin: --batch-window-ms must be an integer from 0 to 10000, not '10001' (see: rtadmin webhook add --help)"],
    [['--batch-window-ms', '-1'], "rtadmin: --batch-window-ms must be an integer from 0 to 10000, not '-1' (see: rtadmin webhook add --help)"],
    [['--batch-max', '0'], "rtadmin: --batch-max must be an integer from 1 to 1000, not '0' (see: rtadmin webhook add --help)"],
    [['--batch-max', 'ten'], "rtadmin: --batch-max must be an integer from 1 to 1000, not 'ten' (see: rtadmin webhook add --help)"],
  ];
  for (const [args, message] of cases) {
    const r = expectCode(run(['webhook', 'add', '77', 'https://h.example/x', ...args]), 2);
    assert.equal(oneErrorLine(r), message, args.join(' '));
  }
  assert.equal(psql(url, 'SELECT count(*) FROM app_webhooks'), '1');
});

test('webhook_add_accepts_every_documented_event_kind', () => {
  const { run } = withApp();
  const all = ['cache_miss', 'channel_occupied', 'channel_vacated', 'client_event', 'member_added', 'member_removed', 'subscription_count'];
  const hook = ok(run(['webhook', 'add', '77', 'https://h.example/', '--events', all.join(','), '--json'])).json();
  assert.deepEqual(hook.event_types, all);
});

test('webhook_add_refuses_bad_urls_and_event_kinds_with_exit_2', () => {
  const { url, run } = withApp();
  const badUrl = (u) => `rtadmin: '${u}' is not a valid webhook URL (expected http://HOST/... or https://HOST/...) (see: rtadmin webhook add --help)`;
  const cases = [
    [['ftp://files.example/x'], 'rtadmin: webhook URL must start with http:// or https://, not ftp:// (see: rtadmin webhook add --help)'],
    [['http:///path'], badUrl('http:///path')],
    [['https://'], badUrl('https://')],
    [['not a url'], badUrl('not a url')],
    [['hooks.example/x'], badUrl('hooks.example/x')],
    [['https://h.example/x', '--events', 'channel_occupied,bogus'],
      "rtadmin: unknown webhook event 'bogus' (expected some of: channel_occupied, channel_vacated, member_added, " +
      'member_removed, client_event, cache_miss, subscription_count) (see: rtadmin webhook add --help)'],
  ];
  for (const [args, message] of cases) {
    const r = expectCode(run(['webhook', 'add', '77', ...args]), 2);
    assert.equal(oneErrorLine(r), message, args.join(' '));
  }
  assert.equal(psql(url, 'SELECT count(*) FROM app_webhooks'), '0');
});

test('webhook_list_shows_the_apps_webhooks', () => {
  const { run } = withApp();
  assert.equal(ok(run(['webhook', 'list', '77'])).stdout, 'No webhooks. Add one with: rtadmin webhook add APP URL\n');
  ok(run(['webhook', 'add', '77', 'https://a.example/1', '--events', 'client_event']));
  ok(run(['webhook', 'add', '77', 'https://b.example/2']));
  const list = ok(run(['webhook', 'list', '77', '--json'])).json();
  assert.deepEqual(list.map(({ created_at, ...h }) => h), [
    { id: 1, url: 'https://a.example/1', event_types: ['client_event'], batch_window_ms: 100, batch_max: 50, last_status: null },
    { id: 2, url: 'https://b.example/2', event_types: [], batch_window_ms: 100, batch_max: 50, last_status: null },
  ]);
  // No server answers here: the last status is unknown, said once on stderr.
  const r = ok(run(['webhook', 'list', '77', '--server', 'http://127.0.0.1:9']));
  const table = r.stdout.split('\n');
  assert.match(table[0], /^ID +URL +EVENTS +BATCH +LAST STATUS +CREATED$/);
  assert.match(table[1], /^1 +https:\/\/a\.example\/1 +client_event +100 ms \/ 50 +\? +\S+ \S+Z$/);
  assert.match(table[2], /^2 +https:\/\/b\.example\/2 +- +100 ms \/ 50 +\? +\S+ \S+Z$/);
  assert.match(r.stderr, /rtadmin: the last status of each webhook is unknown \(no server answered; see --server\)\n$/);
});

test('webhook_remove_deletes_only_that_apps_webhook', () => {
  const { url, run } = withApp();
  ok(run(['app', 'create', '--name', 'other', '--id', '88']));
  ok(run(['webhook', 'add', '77', 'https://a.example/1']));
  ok(run(['webhook', 'add', '88', 'https://b.example/2']));
  const wrongApp = expectCode(run(['webhook', 'remove', '77', '2']), 1);
  assert.equal(oneErrorLine(wrongApp), 'rtadmin: app 77 has no webhook 2 (see: rtadmin webhook list 77)');
  const badId = expectCode(run(['webhook', 'remove', '77', 'abc']), 2);
  assert.equal(oneErrorLine(badId), "rtadmin: webhook ID must be a number, not 'abc' (see: rtadmin webhook remove --help)");
  assert.equal(ok(run(['webhook', 'remove', '77', '1'])).stdout, 'Removed webhook 1 from app 77\n');
  assert.deepEqual(rows(url, 'SELECT id, app_id FROM app_webhooks'), [{ id: 2, app_id: '88' }]);
  assert.deepEqual(ok(run(['webhook', 'remove', '88', '2', '--json'])).json(),
    { id: 2, url: 'https://b.example/2', event_types: [], removed: true });
});

test('webhook_changes_are_audited_with_passwords_masked', () => {
  const { url, run } = withApp();
  ok(run(['webhook', 'add', '77', 'https://user:hunter2@hooks.example/x', '--events', 'member_added']));
  ok(run(['webhook', 'remove', '77', '1']));
  const audit = auditRows(url, "action LIKE 'webhook.%'");
  assert.deepEqual(audit, [
    { actor: 'tester', action: 'webhook.add', app_id: '77',
      details: { id: 1, url: 'https://user:REDACTED@hooks.example/x', event_types: ['member_added'], batch_window_ms: 100, batch_max: 50 } },
    { actor: 'tester', action: 'webhook.remove', app_id: '77',
      details: { id: 1, before: { url: 'https://user:REDACTED@hooks.example/x', event_types: ['member_added'] } } },
  ]);
  assert.ok(!JSON.stringify(audit).includes('hunter2'));
});
