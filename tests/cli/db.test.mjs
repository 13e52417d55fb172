// rtadmin db create-server-role: the login role rtserver connects with, a member of
// realtime_server (read apps, app_keys, app_webhooks; nothing else). Roles are cluster-wide:
// every test uses its own name and drops it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PG_URL, RTADMIN, MASTER_KEY, psql, createEmptyDatabase } from '../harness/index.mjs';
import { freshDatabase, bind, ok, expectCode, auditRows, oneErrorLine } from './cli-helpers.mjs';

const created = [];
const roleName = () => {
  const name = `rt_cli_${randomBytes(5).toString('hex')}`;
  created.push(name);
  return name;
};
after(() => {
  const failed = [];
  for (const r of created) {
    try { psql(PG_URL, `DROP ROLE IF EXISTS ${r}`); } catch (e) { failed.push(`${r}: ${e.message}`); }
  }
  assert.deepEqual(failed, []);
});

const dir = mkdtempSync(path.join(tmpdir(), 'rt-db-role-'));

/** {code, stdout, stderr} of one psql statement at url (no throw: refusals are expected). */
function psqlTry(url, sql) {
  const r = spawnSync('psql', [url, '-qAtX', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

/** The role's stored password verifier, or '' when it has none (superuser view). */
const verifierOf = (name) => psql(PG_URL, `SELECT coalesce(rolpassword, '') FROM pg_authid WHERE rolname = '${name}'`);

/** Whether a SCRAM-SHA-256 verifier (RFC 5802 / 7677, as PostgreSQL stores it) is password's. */
function scramMatches(verifier, password) {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier);
  assert.ok(m, `not a SCRAM verifier: ${verifier}`);
  const salted = pbkdf2Sync(password, Buffer.from(m[2], 'base64'), Number(m[1]), 32, 'sha256');
  const storedKey = createHash('sha256').update(createHmac('sha256', salted).update('Client Key').digest()).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return storedKey.toString('base64') === m[3] && serverKey.toString('base64') === m[4];
}

test('create_server_role_makes_a_login_role_in_realtime_server_and_prints_its_url', () => {
  const { url, run } = freshDatabase();
  const name = roleName();
  const r = ok(run(['db', 'create-server-role', name, '--json']));
  const out = r.json();
  const password = /^postgresql:\/\/[^:]+:([0-9a-f]{48})@/.exec(out.url)?.[1];
  assert.ok(password, out.url);
  const db = url.replace(/^.*\//, '');
  assert.deepEqual(out, {
    role: name, group: 'realtime_server', created: true, password: 'generated',
    url: `postgresql://${name}:${password}@127.0.0.1:${new URL(url).port}/${db}`,
  });
  assert.ok(scramMatches(verifierOf(name), password));
  assert.equal(psql(url, `SELECT rolcanlogin, rolsuper, pg_has_role('${name}', 'realtime_server', 'member') FROM pg_roles WHERE rolname = '${name}'`), 't|f|t');
  assert.equal(psqlTry(out.url, 'SELECT count(*) FROM apps').stdout, '0');
  const write = psqlTry(out.url, "INSERT INTO apps (id, name) VALUES ('1', 'x')");
  assert.equal(write.code, 1);
  assert.match(write.stderr, /permission denied for table apps/);
});

test('create_server_role_text_output_names_the_role_and_the_url', () => {
  const { run } = freshDatabase();
  const name = roleName();
  const r = ok(run(['db', 'create-server-role', name]));
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines[0], `Role ${name} created: it logs in and may read apps, app_keys and app_webhooks (member of realtime_server), nothing else.`);
  assert.equal(lines[1], 'Its password was generated and is shown only now, in this URL.');
  assert.match(lines[2], new RegExp(`^Start rtserver with RT_DATABASE_URL=postgresql://${name}:[0-9a-f]{48}@127\\.0\\.0\\.1:\\d+/rt_t_[0-9a-f]+$`));
});

test('create_server_role_takes_the_password_from_a_file_and_never_prints_it', () => {
  const { url, run } = freshDatabase();
  const name = roleName();
  const password = 'p@ss word/with:specials';
  const file = path.join(dir, 'pw');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  const r = ok(run(['db', 'create-server-role', name, '--password-file', file, '--json']));
  assert.equal(r.json().password, 'given');
  assert.equal(r.json().url, `postgresql://${name}@127.0.0.1:${new URL(url).port}/${url.replace(/^.*\//, '')}`);
  assert.ok(scramMatches(verifierOf(name), password));
  assert.ok(!r.stdout.includes(password) && !r.stderr.includes(password));
  assert.ok(!JSON.stringify(auditRows(url)).includes(password));
});

test('create_server_role_takes_the_password_from_RT_SERVER_DB_PASSWORD', () => {
  const { run } = freshDatabase();
  const name = roleName();
  ok(run(['db', 'create-server-role', name], { RT_SERVER_DB_PASSWORD: 'from-the-environment' }));
  assert.ok(scramMatches(verifierOf(name), 'from-the-environment'));
});

test('create_server_role_again_updates_the_password_and_keeps_the_membership', () => {
  const { url, run } = freshDatabase();
  const name = roleName();
  ok(run(['db', 'create-server-role', name], { RT_SERVER_DB_PASSWORD: 'first' }));
  const r = ok(run(['db', 'create-server-role', name, '--json'], { RT_SERVER_DB_PASSWORD: 'second' }));
  assert.equal(r.json().created, false);
  assert.ok(scramMatches(verifierOf(name), 'second'));
  assert.equal(psql(url, `SELECT pg_has_role('${name}', 'realtime_server', 'member')`), 't');
});

test('create_server_role_with_no_password_leaves_the_role_without_one', () => {
  const { run } = freshDatabase();
  const name = roleName();
  ok(run(['db', 'create-server-role', name], { RT_SERVER_DB_PASSWORD: 'set-first' }));
  const r = ok(run(['db', 'create-server-role', name, '--no-password', '--json']));
  assert.equal(r.json().password, 'none');
  assert.equal(verifierOf(name), '');
});

test('create_server_role_is_audited_without_the_password', () => {
  const { url, run } = freshDatabase();
  const name = roleName();
  ok(run(['db', 'create-server-role', name, '--actor', 'ops'], { RT_SERVER_DB_PASSWORD: 'audited-not' }));
  const rows = auditRows(url, "action = 'db.create_server_role'");
  assert.deepEqual(rows, [{
    actor: 'ops', action: 'db.create_server_role', app_id: null,
    details: { role: name, group: 'realtime_server', created: true, password: 'given' },
  }]);
});

test('create_server_role_refuses_a_superuser_and_leaves_it_alone', () => {
  const { run } = freshDatabase();
  const before = verifierOf('postgres');
  const r = expectCode(run(['db', 'create-server-role', 'postgres']), 1);
  assert.equal(oneErrorLine(r), 'rtadmin: role postgres is a superuser; the server role must hold nothing beyond realtime_server, choose another name');
  assert.equal(verifierOf('postgres'), before);
  assert.equal(psql(PG_URL, "SELECT pg_has_role('postgres', 'realtime_server', 'member') AND NOT rolsuper FROM pg_roles WHERE rolname = 'postgres'"), 'f');
});

test('create_server_role_refuses_the_owner_of_the_tables', () => {
  const { url } = freshDatabase();
  const owner = roleName();
  psql(PG_URL, `CREATE ROLE ${owner} LOGIN`);
  psql(url, `ALTER TABLE apps OWNER TO ${owner}`);
  try {
    const r = expectCode(bind(url)(['db', 'create-server-role', owner]), 1);
    assert.equal(oneErrorLine(r), `rtadmin: role ${owner} owns tables of this database; the server role must hold nothing beyond realtime_server, choose another name`);
  } finally {
    psql(url, 'ALTER TABLE apps OWNER TO postgres'); // so that the role can be dropped
  }
});

test('create_server_role_refuses_a_member_of_another_role', () => {
  const { run } = freshDatabase();
  const name = roleName();
  psql(PG_URL, `CREATE ROLE ${name} LOGIN IN ROLE pg_write_all_data`);
  const r = expectCode(run(['db', 'create-server-role', name]), 1);
  assert.equal(oneErrorLine(r), `rtadmin: role ${name} is a member of pg_write_all_data; the server role must hold nothing beyond realtime_server, choose another name`);
  assert.equal(psql(PG_URL, `SELECT pg_has_role('${name}', 'realtime_server', 'member')`), 'f');
});

test('create_server_role_refuses_a_role_granted_writes_or_the_audit_log', () => {
  const { url, run } = freshDatabase();
  for (const grant of ['INSERT ON apps', 'UPDATE ON app_keys', 'DELETE ON app_webhooks', 'SELECT ON audit_log']) {
    const name = roleName();
    psql(PG_URL, `CREATE ROLE ${name} LOGIN`);
    psql(url, `GRANT ${grant} TO ${name}`);
    try {
      const r = expectCode(run(['db', 'create-server-role', name]), 1);
      assert.equal(oneErrorLine(r), `rtadmin: role ${name} may write apps, keys or webhooks, or read the audit log; the server role must hold nothing beyond realtime_server, choose another name`, grant);
    } finally {
      psql(url, `REVOKE ALL ON apps, app_keys, app_webhooks, audit_log FROM ${name}`); // so that it can be dropped
    }
  }
});

test('create_server_role_refuses_names_that_are_not_plain_identifiers', () => {
  const { run } = freshDatabase();
  for (const bad of ['Server', 'rt-server', 'pg_server', '1server', 'a'.repeat(64), "x'; DROP TABLE apps; --"]) {
    const r = expectCode(run(['db', 'create-server-role', bad]), 2);
    assert.match(oneErrorLine(r), /is not a role name for the server: use 1 to 63 lowercase letters/);
  }
});

test('create_server_role_on_an_unmigrated_database_says_to_migrate', () => {
  const url = createEmptyDatabase();
  const r = expectCode(bind(url)(['db', 'create-server-role', roleName()]), 1);
  assert.equal(oneErrorLine(r), 'rtadmin: the database has no Realtime schema; run rtadmin migrate first');
});

test('create_server_role_with_an_unreadable_password_file_fails_clearly', () => {
  const { run } = freshDatabase();
  const r = expectCode(run(['db', 'create-server-role', roleName(), '--password-file', path.join(dir, 'missing')]), 1);
  assert.equal(oneErrorLine(r), `rtadmin: cannot read --password-file ${path.join(dir, 'missing')}: No such file or directory`);
  const empty = path.join(dir, 'empty');
  writeFileSync(empty, '\n');
  const e = expectCode(run(['db', 'create-server-role', roleName(), '--password-file', empty]), 1);
  assert.equal(oneErrorLine(e), `rtadmin: --password-file ${empty}: the first line is empty`);
});

test('create_server_role_run_six_times_at_once_creates_the_role_once_and_every_run_succeeds', async () => {
  const { url } = freshDatabase();
  const name = roleName();
  const runs = Array.from({ length: 6 }, () => new Promise((resolve) => {
    const p = spawn(RTADMIN, ['db', 'create-server-role', name, '--no-password', '--json'], {
      env: { PATH: process.env.PATH, RT_DATABASE_URL: url, RT_MASTER_KEY: MASTER_KEY, USER: 'tester' },
    });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => resolve({ code, err }));
  }));
  for (const r of await Promise.all(runs)) assert.equal(r.code, 0, r.err);
  assert.deepEqual(auditRows(url, "action = 'db.create_server_role'").map((r) => r.details.created).sort(),
    [false, false, false, false, false, true]);
});
