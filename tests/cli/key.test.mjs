// rtadmin key create|list|revoke|rotate|show-secret: keys, sealed secrets and the master key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { psql } from '../harness/index.mjs';
import { freshDatabase, ok, expectCode, rows, auditRows, oneErrorLine } from './cli-helpers.mjs';

const OTHER_MASTER_KEY = 'ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';

test('key_create_prints_a_new_key_and_secret_that_show_secret_returns', () => {
  const { url, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  const key = ok(run(['key', 'create', app.id, '--label', 'backend', '--json'])).json();
  assert.deepEqual(Object.keys(key), ['app_id', 'key', 'secret', 'label']);
  assert.equal(key.app_id, app.id);
  assert.equal(key.label, 'backend');
  assert.match(key.key, /^[0-9a-f]{20}$/);
  assert.match(key.secret, /^[0-9a-f]{32}$/);
  assert.notEqual(key.key, app.key);
  assert.equal(ok(run(['key', 'show-secret', key.key])).stdout, `${key.secret}\n`);
  assert.deepEqual(ok(run(['key', 'show-secret', app.key, '--json'])).json(), { app_id: app.id, key: app.key, secret: app.secret });
  assert.deepEqual(rows(url, 'SELECT label, status FROM app_keys ORDER BY created_at'), [
    { label: '', status: 'active' }, { label: 'backend', status: 'active' },
  ]);
});

test('key_create_human_output', () => {
  const { run } = freshDatabase();
  ok(run(['app', 'create', '--name', 'chat', '--id', '5']));
  const lines = ok(run(['key', 'create', '5'])).stdout.split('\n');
  assert.equal(lines[0], 'Created key for app 5');
  assert.match(lines[1], /^ {2}key {5}[0-9a-f]{20}$/);
  assert.match(lines[2], /^ {2}secret {2}[0-9a-f]{32}$/);
});

test('key_list_never_prints_secrets', () => {
  const { run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  const second = ok(run(['key', 'create', app.id, '--label', 'two', '--json'])).json();
  const json = ok(run(['key', 'list', app.id, '--json']));
  const human = ok(run(['key', 'list', app.id]));
  for (const out of [json.stdout, human.stdout]) {
    assert.ok(!out.includes(app.secret));
    assert.ok(!out.includes(second.secret));
  }
  assert.deepEqual(json.json().map(({ created_at, ...k }) => k), [
    { key: app.key, label: '', status: 'active', revoked_at: null },
    { key: second.key, label: 'two', status: 'active', revoked_at: null },
  ]);
  const table = human.stdout.split('\n');
  assert.match(table[0], /^KEY +LABEL +STATUS +CREATED +REVOKED$/);
  assert.match(table[2], new RegExp(`^${second.key} +two +active +\\S+ \\S+ +-$`));
});

test('key_revoke_marks_the_key_revoked_once', () => {
  const { url, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  const second = ok(run(['key', 'create', app.id, '--json'])).json();
  assert.equal(ok(run(['key', 'revoke', second.key])).stdout, `Revoked key ${second.key} of app ${app.id}\n`);
  assert.deepEqual(rows(url, `SELECT status, revoked_at IS NOT NULL AS has_revoked_at FROM app_keys WHERE key = '${second.key}'`),
    [{ status: 'revoked', has_revoked_at: true }]);
  const again = expectCode(run(['key', 'revoke', second.key]), 1);
  assert.equal(oneErrorLine(again), `rtadmin: key ${second.key} is already revoked`);
  const unknown = expectCode(run(['key', 'revoke', 'nosuchkey123']), 1);
  assert.equal(oneErrorLine(unknown), "rtadmin: no key 'nosuchkey123' (see: rtadmin key list APP)");
  assert.deepEqual(auditRows(url, "action = 'key.revoke'"), [{ actor: 'tester', action: 'key.revoke', app_id: app.id,
    details: { key: second.key, before: { status: 'active' }, after: { status: 'revoked' } } }]);
});

test('key_revoke_of_the_last_active_key_warns', () => {
  const { run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  const r = ok(run(['key', 'revoke', app.key, '--json']));
  assert.deepEqual(r.json(), { key: app.key, app_id: app.id, status: 'revoked', active_keys: 0, disconnect: false });
  assert.equal(r.stderr, `rtadmin: warning: app ${app.id} has no active key left; clients cannot connect until you run: rtadmin key create ${app.id}\n`);
});

test('key_rotate_adds_a_key_and_keeps_old_ones_active', () => {
  const { url, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  const rotated = ok(run(['key', 'rotate', app.id, '--label', 'v2', '--json'])).json();
  assert.deepEqual(Object.keys(rotated), ['app_id', 'key', 'secret', 'label', 'revoked', 'disconnect']);
  assert.equal(rotated.disconnect, false);
  assert.deepEqual(rotated.revoked, []);
  assert.equal(psql(url, "SELECT count(*) FROM app_keys WHERE status = 'active'"), '2');
  assert.equal(ok(run(['key', 'show-secret', rotated.key])).stdout, `${rotated.secret}\n`);
});

test('key_rotate_with_revoke_old_revokes_every_previous_active_key', () => {
  const { url, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  const second = ok(run(['key', 'create', app.id, '--json'])).json();
  const rotated = ok(run(['key', 'rotate', app.id, '--revoke-old', '--json'])).json();
  assert.deepEqual([...rotated.revoked].sort(), [app.key, second.key].sort());
  assert.deepEqual(rows(url, "SELECT key FROM app_keys WHERE status = 'active'"), [{ key: rotated.key }]);
  const [entry] = auditRows(url, "action = 'key.rotate'");
  assert.equal(entry.app_id, app.id);
  assert.equal(entry.details.key, rotated.key);
  assert.equal(entry.details.label, '');
  assert.deepEqual([...entry.details.revoked].sort(), [app.key, second.key].sort());
});

test('show_secret_is_audited', () => {
  const { url, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  ok(run(['key', 'show-secret', app.key, '--actor', 'bob']));
  assert.deepEqual(auditRows(url, "action = 'key.show_secret'"), [
    { actor: 'bob', action: 'key.show_secret', app_id: app.id, details: { key: app.key } },
  ]);
});

test('wrong_master_key_gives_a_clear_error_and_exit_1', () => {
  const { url, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  const r = expectCode(run(['key', 'show-secret', app.key], { RT_MASTER_KEY: OTHER_MASTER_KEY }), 1);
  assert.equal(oneErrorLine(r), `rtadmin: RT_MASTER_KEY cannot decrypt the secret of key ${app.key} (wrong master key?)`);
  assert.equal(r.stdout, '');
  // A failed attempt reveals nothing and so records nothing.
  assert.equal(psql(url, "SELECT count(*) FROM audit_log WHERE action = 'key.show_secret'"), '0');
});

test('secret_sealed_for_one_key_cannot_be_opened_as_another_key', () => {
  const { url, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  const second = ok(run(['key', 'create', app.id, '--json'])).json();
  // Move the first key's sealed secret onto the second key's row: the AEAD binding must notice.
  psql(url, `UPDATE app_keys SET secret_enc = (SELECT secret_enc FROM app_keys WHERE key = '${app.key}') WHERE key = '${second.key}'`);
  const r = expectCode(run(['key', 'show-secret', second.key]), 1);
  assert.equal(oneErrorLine(r), `rtadmin: RT_MASTER_KEY cannot decrypt the secret of key ${second.key} (wrong master key?)`);
});

test('master_key_can_come_from_a_file_in_hex_or_base64', () => {
  const { run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  const dir = mkdtempSync(path.join(tmpdir(), 'rt-mk-'));
  const hexFile = path.join(dir, 'hex');
  const b64File = path.join(dir, 'b64');
  // Mode 600: a key file other users can read is refused (docs/security.md).
  writeFileSync(hexFile, '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n', { mode: 0o600 });
  writeFileSync(b64File, `${Buffer.from([...Array(32).keys()]).toString('base64')}\n`, { mode: 0o600 });
  for (const file of [hexFile, b64File]) {
    const r = ok(run(['key', 'show-secret', app.key, '--master-key-file', file], { RT_MASTER_KEY: '' }));
    assert.equal(r.stdout, `${app.secret}\n`);
  }
  const b64 = ok(run(['key', 'show-secret', app.key], { RT_MASTER_KEY: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=' }));
  assert.equal(b64.stdout, `${app.secret}\n`);
});

test('key_label_longer_than_200_is_a_usage_error', () => {
  const { run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  const r = expectCode(run(['key', 'create', app.id, '--label', 'x'.repeat(201)]), 2);
  assert.equal(oneErrorLine(r), 'rtadmin: --label must be at most 200 characters (see: rtadmin key create --help)');
});
