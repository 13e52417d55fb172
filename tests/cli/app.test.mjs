// rtadmin app create|list|show|update|enable|disable|delete against a real database.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { psql } from '../harness/index.mjs';
import { freshDatabase, ok, expectCode, rows, auditRows, oneErrorLine } from './cli-helpers.mjs';

const DEFAULTS = {
  name: 'chat', enabled: true, client_events: false, user_auth: false, subscription_count: false,
  require_tls: false, authorized_connections: false, allowed_origins: [], max_connections: 10000,
  max_payload_kb: 10, max_channel_name_length: 200, max_event_name_length: 200,
  max_channels_per_trigger: 100, max_batch_size: 10, max_presence_members: 100,
  max_presence_info_bytes: 1024, max_subscriptions_per_connection: 100,
  client_events_per_second: 10, backend_events_per_second: 1000, read_requests_per_second: 100,
  jwt_algorithms: ['HS256'], jwt_public_key: null, require_token: false,
  ingest_redis_prefix: null, ingest_stream: false, ingest_stream_max_length: 100000,
};
const SETTINGS = Object.keys(DEFAULTS);
const pick = (obj, keys) => Object.fromEntries(keys.map((k) => [k, obj[k]]));

test('app_create_json_prints_id_key_secret_and_stores_defaults', () => {
  const { url, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  assert.match(app.id, /^[1-9][0-9]{6}$/);
  assert.match(app.key, /^[0-9a-f]{20}$/);
  assert.match(app.secret, /^[0-9a-f]{32}$/);
  assert.deepEqual(Object.keys(app).slice(0, 3), ['id', 'key', 'secret']);
  assert.deepEqual(pick(app, SETTINGS), DEFAULTS);
  const stored = rows(url, 'SELECT a.id, k.key, k.label, k.status, length(k.secret_enc) AS sealed_len FROM apps a JOIN app_keys k ON k.app_id = a.id');
  // 24-byte nonce + 32-byte secret + 16-byte tag
  assert.deepEqual(stored, [{ id: app.id, key: app.key, label: '', status: 'active', sealed_len: 72 }]);
});

test('app_create_human_output_shows_the_credentials_once', () => {
  const { run } = freshDatabase();
  const r = ok(run(['app', 'create', '--name', 'chat', '--id', '42']));
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], 'Created app 42 (chat)');
  assert.equal(lines[1], '  app id  42');
  assert.match(lines[2], /^ {2}key {5}[0-9a-f]{20}$/);
  assert.match(lines[3], /^ {2}secret {2}[0-9a-f]{32}$/);
});

test('app_create_sets_every_flag_and_limit_column', () => {
  const { url, run } = freshDatabase();
  const args = ['app', 'create', '--name', 'full', '--id', '7000001', '--client-events', '--user-auth',
    '--subscription-count', '--require-tls', '--authorized-connections',
    '--allowed-origins', 'https://a.example, https://b.example', '--max-connections', '500',
    '--max-payload-kb', '20', '--max-channel-name-length', '100', '--max-event-name-length', '50',
    '--max-channels-per-trigger', '10', '--max-batch-size', '5', '--max-presence-members', '200',
    '--max-presence-info-bytes', '2048', '--max-subscriptions-per-connection', '30',
    '--client-events-per-second', '5', '--backend-events-per-second', '50',
    '--read-requests-per-second', '7', '--jwt-algorithms', 'HS256,ES256', '--require-token',
    '--ingest-redis-prefix', 'full_database_', '--ingest-stream', '--ingest-stream-max-length', '1000', '--json'];
  ok(run(args));
  const [stored] = rows(url, 'SELECT * FROM apps');
  assert.deepEqual(pick(stored, SETTINGS), {
    name: 'full', enabled: true, client_events: true, user_auth: true, subscription_count: true,
    require_tls: true, authorized_connections: true,
    allowed_origins: ['https://a.example', 'https://b.example'], max_connections: 500,
    max_payload_kb: 20, max_channel_name_length: 100, max_event_name_length: 50,
    max_channels_per_trigger: 10, max_batch_size: 5, max_presence_members: 200,
    max_presence_info_bytes: 2048, max_subscriptions_per_connection: 30,
    client_events_per_second: 5, backend_events_per_second: 50, read_requests_per_second: 7,
    jwt_algorithms: ['HS256', 'ES256'], jwt_public_key: null, require_token: true,
    ingest_redis_prefix: 'full_database_', ingest_stream: true, ingest_stream_max_length: 1000,
  });
  assert.equal(stored.id, '7000001');
});

test('app_create_with_taken_id_fails_with_exit_1', () => {
  const { run } = freshDatabase();
  ok(run(['app', 'create', '--name', 'a', '--id', '123']));
  const r = expectCode(run(['app', 'create', '--name', 'b', '--id', '123']), 1);
  assert.equal(oneErrorLine(r), 'rtadmin: an app with id 123 already exists (see: rtadmin app show 123)');
});

test('app_create_usage_errors_exit_2_and_change_nothing', () => {
  const { url, run } = freshDatabase();
  const cases = [
    [['app', 'create'], 'rtadmin: app create needs --name NAME (see: rtadmin app create --help)'],
    [['app', 'create', '--name', 'x', '--max-payload-kb', '2000'],
      'rtadmin: --max-payload-kb must be between 1 and 1024, not 2000 (see: rtadmin app create --help)'],
    [['app', 'create', '--name', 'x', '--max-connections', '-1'],
      'rtadmin: --max-connections must be at least 0, not -1 (see: rtadmin app create --help)'],
    [['app', 'create', '--name', 'x', '--max-batch-size', 'ten'],
      "rtadmin: --max-batch-size must be a whole number, not 'ten' (see: rtadmin app create --help)"],
    [['app', 'create', '--name', 'x', '--id', 'abc'],
      "rtadmin: --id must be 1 to 20 digits, not 'abc' (see: rtadmin app create --help)"],
    [['app', 'create', '--name', ''], 'rtadmin: --name must be 1 to 200 characters (see: rtadmin app create --help)'],
    [['app', 'create', '--name', 'x', '--frobnicate'], 'rtadmin: unknown option --frobnicate (see: rtadmin app create --help)'],
    [['app', 'create', '--name', 'x', '--no-client-events'], 'rtadmin: unknown option --no-client-events (see: rtadmin app create --help)'],
    [['app', 'create', '--name', 'x', 'extra'], "rtadmin: app create: unexpected argument 'extra' (see: rtadmin app create --help)"],
  ];
  for (const [args, message] of cases) {
    const r = expectCode(run(args), 2);
    assert.equal(oneErrorLine(r), message);
  }
  assert.equal(psql(url, 'SELECT count(*) FROM apps'), '0');
});

test('app_list_shows_apps_with_key_and_webhook_counts', () => {
  const { run } = freshDatabase();
  assert.equal(ok(run(['app', 'list'])).stdout, 'No apps yet. Create one with: rtadmin app create --name NAME\n');
  assert.deepEqual(ok(run(['app', 'list', '--json'])).json(), []);
  ok(run(['app', 'create', '--name', 'one', '--id', '1']));
  ok(run(['app', 'create', '--name', 'two', '--id', '2']));
  ok(run(['key', 'create', '2']));
  ok(run(['webhook', 'add', '2', 'https://hooks.example/x']));
  const list = ok(run(['app', 'list', '--json'])).json();
  assert.deepEqual(list.map(({ created_at, ...rest }) => rest), [
    { id: '1', name: 'one', enabled: true, active_keys: 1, webhooks: 0 },
    { id: '2', name: 'two', enabled: true, active_keys: 2, webhooks: 1 },
  ]);
  const table = ok(run(['app', 'list'])).stdout.split('\n');
  assert.match(table[0], /^ID +NAME +ENABLED +KEYS +WEBHOOKS +CREATED$/);
  assert.match(table[1], /^1 +one +true +1 +0 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
  assert.match(table[2], /^2 +two +true +2 +1 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
});

test('app_show_includes_settings_keys_and_webhooks_but_no_secret', () => {
  const { run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  ok(run(['webhook', 'add', app.id, 'https://hooks.example/x', '--events', 'member_added']));
  const r = ok(run(['app', 'show', app.id, '--json']));
  assert.ok(!r.stdout.includes(app.secret));
  const shown = r.json();
  assert.deepEqual(pick(shown, ['id', ...SETTINGS]), { id: app.id, ...DEFAULTS });
  assert.deepEqual(shown.keys.map(({ created_at, ...k }) => k), [{ key: app.key, label: '', status: 'active', revoked_at: null }]);
  assert.deepEqual(shown.webhooks.map(({ created_at, ...w }) => w), [{ id: 1, url: 'https://hooks.example/x', event_types: ['member_added'] }]);
  const human = ok(run(['app', 'show', app.id])).stdout;
  assert.ok(!human.includes(app.secret));
  assert.match(human, /^max_payload_kb +10$/m);
  assert.match(human, new RegExp(`^${app.key} +active `, 'm'));
});

test('app_show_of_unknown_app_exits_1', () => {
  const { run } = freshDatabase();
  for (const cmd of [['app', 'show', '999'], ['app', 'update', '999', '--name', 'x'], ['app', 'enable', '999'],
    ['app', 'disable', '999'], ['app', 'delete', '999', '--yes'], ['key', 'list', '999'], ['key', 'create', '999'],
    ['key', 'rotate', '999'], ['webhook', 'list', '999'], ['webhook', 'add', '999', 'https://x.example'],
    ['webhook', 'remove', '999', '1']]) {
    const r = expectCode(run(cmd), 1);
    assert.equal(oneErrorLine(r), "rtadmin: no app with id '999' (see: rtadmin app list)", cmd.join(' '));
  }
});

test('app_update_changes_only_given_fields_and_audits_before_and_after', () => {
  const { url, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--client-events', '--json'])).json();
  const r = ok(run(['app', 'update', app.id, '--name', 'chat2', '--no-client-events', '--max-connections', '500',
    '--allowed-origins', 'https://a.example,https://b.example', '--max-payload-kb', '10', '--actor', 'alice']));
  assert.equal(r.stdout, `Updated app ${app.id}:\n  name: chat -> chat2\n  client_events: true -> false\n` +
    '  allowed_origins: - -> https://a.example,https://b.example\n  max_connections: 10000 -> 500\n');
  const [stored] = rows(url, 'SELECT * FROM apps');
  assert.deepEqual(pick(stored, SETTINGS), { ...DEFAULTS, name: 'chat2', max_connections: 500,
    allowed_origins: ['https://a.example', 'https://b.example'] });
  const audit = auditRows(url, "action = 'app.update'");
  assert.deepEqual(audit, [{ actor: 'alice', action: 'app.update', app_id: app.id, details: {
    before: { name: 'chat', client_events: true, allowed_origins: [], max_connections: 10000 },
    after: { name: 'chat2', client_events: false, allowed_origins: ['https://a.example', 'https://b.example'], max_connections: 500 },
  } }]);
  // Clearing the origins list with an empty value.
  ok(run(['app', 'update', app.id, '--allowed-origins', '']));
  assert.equal(psql(url, 'SELECT allowed_origins FROM apps'), '{}');
});

test('app_update_json_prints_the_app_after_the_change', () => {
  const { run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  const after = ok(run(['app', 'update', app.id, '--user-auth', '--json'])).json();
  assert.equal(after.id, app.id);
  assert.equal(after.user_auth, true);
  assert.equal(after.secret, undefined);
});

test('app_update_to_current_values_is_a_no_op_without_audit', () => {
  const { url, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  const before = psql(url, 'SELECT updated_at FROM apps');
  const r = ok(run(['app', 'update', app.id, '--max-payload-kb', '10', '--no-user-auth']));
  assert.equal(r.stdout, `App ${app.id} unchanged (already as requested)\n`);
  assert.equal(psql(url, 'SELECT updated_at FROM apps'), before);
  assert.equal(psql(url, "SELECT count(*) FROM audit_log WHERE action = 'app.update'"), '0');
});

test('app_update_usage_errors_exit_2', () => {
  const { run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  const cases = [
    [['app', 'update', app.id], 'rtadmin: app update needs at least one setting to change (see: rtadmin app update --help)'],
    [['app', 'update'], 'rtadmin: app update: missing argument (usage: rtadmin app update APP [settings...]) (see: rtadmin app update --help)'],
    [['app', 'update', app.id, '--client-events', '--no-client-events'],
      'rtadmin: --client-events and --no-client-events contradict (see: rtadmin app update --help)'],
    [['app', 'update', app.id, '--max-channel-name-length', '10'],
      'rtadmin: --max-channel-name-length must be between 16 and 200, not 10 (see: rtadmin app update --help)'],
  ];
  for (const [args, message] of cases) assert.equal(oneErrorLine(expectCode(run(args), 2)), message);
});

test('app_disable_and_enable_flip_enabled_and_are_audited', () => {
  const { url, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  assert.equal(ok(run(['app', 'disable', app.id])).stdout, `Updated app ${app.id}:\n  enabled: true -> false\n`);
  assert.equal(psql(url, 'SELECT enabled FROM apps'), 'f');
  assert.equal(ok(run(['app', 'disable', app.id])).stdout, `App ${app.id} unchanged (already as requested)\n`);
  assert.equal(ok(run(['app', 'enable', app.id, '--json'])).json().enabled, true);
  assert.deepEqual(auditRows(url, "action LIKE 'app.%able'"), [
    { actor: 'tester', action: 'app.disable', app_id: app.id, details: { before: { enabled: true }, after: { enabled: false } } },
    { actor: 'tester', action: 'app.enable', app_id: app.id, details: { before: { enabled: false }, after: { enabled: true } } },
  ]);
});

test('app_delete_needs_yes_then_removes_app_keys_and_webhooks', () => {
  const { url, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  ok(run(['key', 'create', app.id]));
  ok(run(['webhook', 'add', app.id, 'https://hooks.example/x']));
  const refused = expectCode(run(['app', 'delete', app.id]), 2);
  assert.equal(oneErrorLine(refused), `rtadmin: app delete removes app ${app.id} with its keys and webhooks for good; ` +
    'add --yes to confirm (see: rtadmin app delete --help)');
  assert.equal(psql(url, 'SELECT count(*) FROM apps'), '1');
  const out = ok(run(['app', 'delete', app.id, '--yes', '--json'])).json();
  assert.deepEqual(out, { id: app.id, deleted: true, keys_deleted: 2, webhooks_deleted: 1 });
  assert.equal(psql(url, 'SELECT (SELECT count(*) FROM apps) + (SELECT count(*) FROM app_keys) + (SELECT count(*) FROM app_webhooks)'), '0');
  const [entry] = auditRows(url, "action = 'app.delete'");
  assert.equal(entry.app_id, app.id);
  assert.deepEqual(entry.details.before, DEFAULTS);
  assert.equal(entry.details.keys_deleted, 2);
  assert.equal(entry.details.webhooks_deleted, 1);
});

// ---- connection-token settings -------------------------------------------------------------

const pemFile = (type, opts) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rtadmin-pem-'));
  const { publicKey, privateKey } = generateKeyPairSync(type, opts);
  const pub = path.join(dir, 'public.pem'), priv = path.join(dir, 'private.pem');
  writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return { pub, priv, pem: readFileSync(pub, 'utf8') };
};

test('app_update_jwt_public_key_stores_the_pem_and_show_summarises_it', () => {
  const { url, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  const rsa = pemFile('rsa', { modulusLength: 2048 });
  const r = ok(run(['app', 'update', app.id, '--jwt-public-key', rsa.pub, '--jwt-algorithms', 'RS256, HS256']));
  assert.equal(r.stdout, `Updated app ${app.id}:\n  jwt_algorithms: HS256 -> RS256,HS256\n` +
    '  jwt_public_key: - -> RSA 2048-bit public key\n');
  assert.equal(psql(url, 'SELECT jwt_public_key FROM apps'), rsa.pem.trim());
  assert.deepEqual(ok(run(['app', 'show', app.id, '--json'])).json().jwt_public_key, rsa.pem);
  assert.match(ok(run(['app', 'show', app.id])).stdout, /^jwt_public_key +RSA 2048-bit public key$/m);
  assert.match(ok(run(['app', 'show', app.id])).stdout, /^jwt_algorithms +RS256,HS256$/m);
  const ec = pemFile('ec', { namedCurve: 'P-256' });
  assert.equal(ok(run(['app', 'update', app.id, '--jwt-public-key', ec.pub])).stdout,
    `Updated app ${app.id}:\n  jwt_public_key: RSA 2048-bit public key -> EC 256-bit public key\n`);
  assert.equal(ok(run(['app', 'update', app.id, '--no-jwt-public-key', '--require-token'])).stdout,
    `Updated app ${app.id}:\n  jwt_public_key: EC 256-bit public key -> -\n  require_token: false -> true\n`);
  assert.equal(psql(url, 'SELECT jwt_public_key IS NULL, require_token FROM apps'), 't|t');
  const audit = auditRows(url, "action = 'app.update'");
  assert.deepEqual(audit[0].details, {
    before: { jwt_algorithms: ['HS256'], jwt_public_key: null },
    after: { jwt_algorithms: ['RS256', 'HS256'], jwt_public_key: rsa.pem },
  });
  assert.deepEqual(audit[2].details, {
    before: { jwt_public_key: ec.pem, require_token: false },
    after: { jwt_public_key: null, require_token: true },
  });
});

test('app_create_takes_the_jwt_settings', () => {
  const { run } = freshDatabase();
  const ec = pemFile('ec', { namedCurve: 'P-256' });
  const app = ok(run(['app', 'create', '--name', 'chat', '--jwt-public-key', ec.pub, '--jwt-algorithms', 'ES256',
    '--require-token', '--json'])).json();
  assert.deepEqual(pick(app, ['jwt_algorithms', 'jwt_public_key', 'require_token']),
    { jwt_algorithms: ['ES256'], jwt_public_key: ec.pem, require_token: true });
  // "" accepts no tokens at all
  assert.deepEqual(ok(run(['app', 'update', app.id, '--jwt-algorithms', '', '--json'])).json().jwt_algorithms, []);
});

test('app_jwt_setting_usage_errors_exit_2_and_change_nothing', () => {
  const { url, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  const rsa = pemFile('rsa', { modulusLength: 2048 });
  const notPem = path.join(path.dirname(rsa.pub), 'notes.txt');
  writeFileSync(notPem, 'hello\n');
  const missing = path.join(path.dirname(rsa.pub), 'missing.pem');
  const help = ' (see: rtadmin app update --help)';
  const cases = [
    [['--jwt-algorithms', 'HS256,none'],
      "rtadmin: --jwt-algorithms: 'none' is not one of HS256,HS384,HS512,RS256,RS384,RS512,ES256,ES384,ES512" + help],
    [['--jwt-algorithms', 'PS256'],
      "rtadmin: --jwt-algorithms: 'PS256' is not one of HS256,HS384,HS512,RS256,RS384,RS512,ES256,ES384,ES512" + help],
    [['--jwt-public-key', rsa.priv],
      `rtadmin: --jwt-public-key: ${rsa.priv} is not a PEM RSA or EC public key (-----BEGIN PUBLIC KEY-----; a private key is refused)` + help],
    [['--jwt-public-key', notPem],
      `rtadmin: --jwt-public-key: ${notPem} is not a PEM RSA or EC public key (-----BEGIN PUBLIC KEY-----; a private key is refused)` + help],
    [['--jwt-public-key', missing], `rtadmin: --jwt-public-key: cannot read ${missing}: No such file or directory` + help],
    [['--jwt-public-key', rsa.pub, '--no-jwt-public-key'], 'rtadmin: --jwt-public-key and --no-jwt-public-key contradict' + help],
    [['--require-token', '--no-require-token'], 'rtadmin: --require-token and --no-require-token contradict' + help],
  ];
  for (const [args, message] of cases) assert.equal(oneErrorLine(expectCode(run(['app', 'update', app.id, ...args]), 2)), message);
  assert.equal(psql(url, "SELECT count(*) FROM audit_log WHERE action = 'app.update'"), '0');
  assert.equal(psql(url, 'SELECT jwt_algorithms, jwt_public_key IS NULL FROM apps'), '{HS256}|t');
});
