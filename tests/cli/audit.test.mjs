// The audit log: one row per mutation in the same transaction, no secrets, append-only, filters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { psql, PG_BIN } from '../harness/index.mjs';
import { freshDatabase, ok, expectCode, rows, auditRows, oneErrorLine, REPO_MIGRATIONS } from './cli-helpers.mjs';

// A fresh database's audit log starts with one schema.migrate row per repo migration.
const MIGRATE_ROWS = REPO_MIGRATIONS.length;

/** Runs one of every mutation; returns the credentials it saw. */
function everyMutation(run) {
  const app = ok(run(['app', 'create', '--name', 'chat', '--id', '11', '--json'])).json();
  ok(run(['app', 'update', '11', '--client-events']));
  ok(run(['app', 'disable', '11']));
  ok(run(['app', 'enable', '11']));
  const second = ok(run(['key', 'create', '11', '--label', 'b', '--json'])).json();
  ok(run(['key', 'revoke', second.key]));
  const rotated = ok(run(['key', 'rotate', '11', '--json'])).json();
  ok(run(['key', 'show-secret', app.key]));
  ok(run(['webhook', 'add', '11', 'https://hooks.example/x']));
  ok(run(['webhook', 'remove', '11', '1']));
  ok(run(['app', 'create', '--name', 'gone', '--id', '12']));
  ok(run(['app', 'delete', '12', '--yes']));
  return { secrets: [app.secret, second.secret, rotated.secret], keys: [app.key, second.key, rotated.key] };
}

test('every_mutation_writes_exactly_one_audit_row', () => {
  const { url, run } = freshDatabase();
  everyMutation(run);
  const audit = auditRows(url, "action <> 'schema.migrate'");
  assert.deepEqual(audit.map((a) => [a.action, a.app_id, a.actor]), [
    ['app.create', '11', 'tester'], ['app.update', '11', 'tester'], ['app.disable', '11', 'tester'],
    ['app.enable', '11', 'tester'], ['key.create', '11', 'tester'], ['key.revoke', '11', 'tester'],
    ['key.rotate', '11', 'tester'], ['key.show_secret', '11', 'tester'], ['webhook.add', '11', 'tester'],
    ['webhook.remove', '11', 'tester'], ['app.create', '12', 'tester'], ['app.delete', '12', 'tester'],
  ]);
});

test('read_only_commands_write_no_audit_rows', () => {
  const { url, run } = freshDatabase();
  ok(run(['app', 'create', '--name', 'chat', '--id', '11']));
  const before = psql(url, 'SELECT count(*) FROM audit_log');
  for (const cmd of [['app', 'list'], ['app', 'show', '11'], ['key', 'list', '11'], ['webhook', 'list', '11'], ['audit'], ['migrate']]) ok(run(cmd));
  assert.equal(psql(url, 'SELECT count(*) FROM audit_log'), before);
});

test('no_audit_row_contains_a_secret_plain_or_sealed', () => {
  const { url, run } = freshDatabase();
  const { secrets } = everyMutation(run);
  const dump = psql(url, 'SELECT coalesce(string_agg(details::text, E\'\\n\'), \'\') FROM audit_log');
  for (const s of secrets) assert.ok(!dump.includes(s), 'plaintext secret in audit_log');
  const sealed = rows(url, "SELECT encode(secret_enc, 'hex') AS hex FROM app_keys").map((r) => r.hex);
  for (const hex of sealed) {
    assert.ok(!dump.includes(hex), 'sealed secret (hex) in audit_log');
    assert.ok(!dump.includes(Buffer.from(hex, 'hex').toString('base64')), 'sealed secret (base64) in audit_log');
  }
  assert.ok(!/secret_enc|"secret"/.test(dump));
});

test('secrets_are_encrypted_at_rest_absent_from_pg_dump', () => {
  const { url, run } = freshDatabase();
  const { secrets, keys } = everyMutation(run);
  const dump = spawnSync(path.join(PG_BIN, 'pg_dump'), ['--data-only', url], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(dump.status, 0, dump.stderr);
  assert.ok(dump.stdout.includes(keys[0]), 'dump should contain the key (sanity check)');
  for (const s of secrets) assert.ok(!dump.stdout.includes(s), 'plaintext secret found in pg_dump output');
});

test('audit_log_rejects_update_delete_and_truncate', () => {
  const { url, run } = freshDatabase();
  ok(run(['app', 'create', '--name', 'chat', '--id', '11']));
  for (const sql of ["UPDATE audit_log SET actor = 'mallory'", 'DELETE FROM audit_log', 'TRUNCATE audit_log']) {
    assert.throws(() => psql(url, sql), /audit_log is append-only: (UPDATE|DELETE|TRUNCATE) is not allowed/);
  }
  assert.equal(psql(url, "SELECT count(*) FROM audit_log WHERE actor = 'tester'"), String(MIGRATE_ROWS + 1));
});

test('audit_actor_defaults_to_USER_and_can_be_set_with_actor', () => {
  const { url, run } = freshDatabase();
  ok(run(['app', 'create', '--name', 'a', '--id', '1'], { USER: 'carol' }));
  ok(run(['--actor', 'deploy-bot', 'app', 'create', '--name', 'b', '--id', '2']));
  assert.deepEqual(rows(url, "SELECT actor, app_id FROM audit_log WHERE action = 'app.create' ORDER BY id"),
    [{ actor: 'carol', app_id: '1' }, { actor: 'deploy-bot', app_id: '2' }]);
});

test('app_create_audit_details_hold_settings_and_key_but_no_secret', () => {
  const { url, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--id', '11', '--max-batch-size', '3', '--label', 'first', '--json'])).json();
  const [entry] = auditRows(url, "action = 'app.create'");
  assert.equal(entry.details.key, app.key);
  assert.equal(entry.details.label, 'first');
  assert.equal(entry.details.after.name, 'chat');
  assert.equal(entry.details.after.max_batch_size, 3);
  assert.equal(entry.details.after.enabled, true);
  assert.deepEqual(Object.keys(entry.details).sort(), ['after', 'key', 'label']);
});

test('audit_command_filters_by_app_actor_action_and_time', () => {
  const { url, run } = freshDatabase();
  ok(run(['app', 'create', '--name', 'a', '--id', '1', '--actor', 'alice']));
  ok(run(['app', 'create', '--name', 'b', '--id', '2', '--actor', 'bob']));
  const k = ok(run(['key', 'create', '1', '--actor', 'bob', '--json'])).json();
  ok(run(['key', 'revoke', k.key, '--actor', 'alice']));
  ok(run(['app', 'update', '2', '--user-auth', '--actor', 'alice']));
  const pickRows = (args) => ok(run(['audit', ...args, '--json'])).json().map((e) => [e.action, e.app_id, e.actor]);

  assert.deepEqual(pickRows(['--app', '1']), [['app.create', '1', 'alice'], ['key.create', '1', 'bob'], ['key.revoke', '1', 'alice']]);
  assert.deepEqual(pickRows(['--actor', 'bob']), [['app.create', '2', 'bob'], ['key.create', '1', 'bob']]);
  assert.deepEqual(pickRows(['--action', 'key']), [['key.create', '1', 'bob'], ['key.revoke', '1', 'alice']]);
  assert.deepEqual(pickRows(['--action', 'app.update']), [['app.update', '2', 'alice']]);
  assert.deepEqual(pickRows(['--app', '1', '--actor', 'alice', '--action', 'key.revoke']), [['key.revoke', '1', 'alice']]);
  assert.deepEqual(pickRows(['--limit', '2']), [['key.revoke', '1', 'alice'], ['app.update', '2', 'alice']]);
  assert.equal(pickRows(['--since', '1h']).length, MIGRATE_ROWS + 5); // schema.migrate rows + 5
  assert.deepEqual(pickRows(['--until', '1h']), []);
  assert.deepEqual(pickRows(['--since', '2999-01-01']), []);
  assert.equal(pickRows(['--since', '2000-01-01', '--until', '2999-01-01T00:00:00Z']).length, MIGRATE_ROWS + 5);

  // Backdate one row: time filters see it only in the right window. (Triggers forbid UPDATE, so
  // the row is inserted directly with an old timestamp.)
  psql(url, "INSERT INTO audit_log (at, actor, action, app_id) VALUES ('2020-06-01 12:00:00+00', 'old', 'app.update', '1')");
  assert.deepEqual(pickRows(['--until', '2021-01-01']), [['app.update', '1', 'old']]);
  assert.deepEqual(pickRows(['--since', '2020-06-01 11:00:00+00', '--until', '2020-06-01 13:00:00+00']), [['app.update', '1', 'old']]);
  assert.equal(pickRows(['--since', '7d']).length, MIGRATE_ROWS + 5);

  const entry = ok(run(['audit', '--action', 'key.revoke', '--json'])).json()[0];
  assert.deepEqual(Object.keys(entry), ['id', 'at', 'actor', 'action', 'app_id', 'details']);
  assert.deepEqual(entry.details, { key: k.key, before: { status: 'active' }, after: { status: 'revoked' } });

  const human = ok(run(['audit', '--action', 'key.revoke'])).stdout.split('\n');
  assert.match(human[0], /^ID +AT +ACTOR +ACTION +APP +DETAILS$/);
  assert.match(human[1], /^\d+ +\S+ \S+Z +alice +key\.revoke +1 +\{"key":/);
  assert.equal(ok(run(['audit', '--actor', 'nobody'])).stdout, 'No audit entries match.\n');
});

test('audit_command_usage_errors_exit_2', () => {
  const { run } = freshDatabase();
  const cases = [
    [['audit', '--since', 'last tuesday-ish'], "rtadmin: --since: cannot read 'last tuesday-ish' as a time (use e.g. 2025-01-31, '2025-01-31 14:00:00+00' or 30m, 2h, 7d) (see: rtadmin audit --help)"],
    [['audit', '--until', '2025-13-45'], "rtadmin: --until: cannot read '2025-13-45' as a time (use e.g. 2025-01-31, '2025-01-31 14:00:00+00' or 30m, 2h, 7d) (see: rtadmin audit --help)"],
    [['audit', '--limit', '0'], "rtadmin: --limit must be a number from 1 to 100000, not '0' (see: rtadmin audit --help)"],
    [['audit', '--limit', 'x'], "rtadmin: --limit must be a number from 1 to 100000, not 'x' (see: rtadmin audit --help)"],
  ];
  for (const [args, message] of cases) assert.equal(oneErrorLine(expectCode(run(args), 2)), message);
});
