// rtadmin migrate: ordered, idempotent, checksummed, concurrency-safe schema migrations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, cpSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createEmptyDatabase, psql, RTADMIN, MASTER_KEY, SOURCE_DIR } from '../harness/index.mjs';
import { bind, ok, expectCode, rows, oneErrorLine } from './cli-helpers.mjs';

const MIGRATIONS = path.join(SOURCE_DIR, 'migrations');
const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

function copyMigrations() {
  const dir = mkdtempSync(path.join(tmpdir(), 'rt-migrations-'));
  cpSync(MIGRATIONS, dir, { recursive: true });
  return dir;
}

test('migrate_applies_001_then_second_run_is_a_no_op', () => {
  const url = createEmptyDatabase();
  const run = bind(url);
  const first = ok(run(['migrate']));
  assert.match(first.stdout, /^Applied 001_initial_schema\.sql$/m);
  assert.match(first.stdout, /Applied 1 migration; the database is at version 1/);

  const second = ok(run(['migrate']));
  assert.doesNotMatch(second.stdout, /^Applied /m);
  assert.match(second.stdout, /^Nothing to apply: the database is up to date \(version 1, /);

  const applied = rows(url, 'SELECT version, name, checksum FROM schema_migrations ORDER BY version');
  assert.deepEqual(applied, [
    { version: 1, name: '001_initial_schema.sql', checksum: sha256(path.join(MIGRATIONS, '001_initial_schema.sql')) },
  ]);
  assert.equal(psql(url, "SELECT to_regclass('apps') IS NOT NULL"), 't');
});

test('migrate_json_lists_what_it_applied', () => {
  const url = createEmptyDatabase();
  const run = bind(url);
  const out = ok(run(['migrate', '--json'])).json();
  assert.equal(out.version, 1);
  assert.deepEqual(out.applied.map((m) => [m.version, m.name]), [[1, '001_initial_schema.sql']]);
  assert.equal(out.applied[0].checksum, sha256(path.join(MIGRATIONS, '001_initial_schema.sql')));
  assert.deepEqual(ok(run(['migrate', '--json'])).json().applied, []);
});

test('migrate_records_each_applied_file_in_the_audit_log', () => {
  const url = createEmptyDatabase();
  ok(bind(url)(['migrate']));
  const audit = rows(url, 'SELECT actor, action, app_id, details FROM audit_log');
  assert.deepEqual(audit, [{
    actor: 'tester', action: 'schema.migrate', app_id: null,
    details: { name: '001_initial_schema.sql', version: 1, checksum: sha256(path.join(MIGRATIONS, '001_initial_schema.sql')) },
  }]);
});

test('migrate_applies_new_files_in_version_order_from_dir', () => {
  const url = createEmptyDatabase();
  const run = bind(url);
  const dir = copyMigrations();
  ok(run(['migrate', '--dir', dir]));
  writeFileSync(path.join(dir, '010_later.sql'), 'CREATE TABLE t_later (id int REFERENCES t_early(id));\n');
  writeFileSync(path.join(dir, '002_early.sql'), 'CREATE TABLE t_early (id int PRIMARY KEY);\n');
  writeFileSync(path.join(dir, 'README.md'), 'not a migration');
  const r = ok(run(['migrate', '--dir', dir]));
  assert.deepEqual(r.stdout.split('\n').filter((l) => l.startsWith('Applied ')), [
    'Applied 002_early.sql', 'Applied 010_later.sql', 'Applied 2 migrations; the database is at version 10',
  ]);
  assert.deepEqual(rows(url, 'SELECT version FROM schema_migrations ORDER BY version').map((x) => x.version), [1, 2, 10]);
});

test('migrate_refuses_an_already_applied_file_that_was_edited', () => {
  const url = createEmptyDatabase();
  const run = bind(url);
  const dir = copyMigrations();
  ok(run(['migrate', '--dir', dir]));
  appendFileSync(path.join(dir, '001_initial_schema.sql'), '\n-- edited after the fact\n');
  writeFileSync(path.join(dir, '002_new.sql'), 'CREATE TABLE t_new (id int);\n');
  const r = expectCode(run(['migrate', '--dir', dir]), 1);
  assert.equal(oneErrorLine(r), 'rtadmin: migration 001_initial_schema.sql was changed after it was applied ' +
    '(its sha256 differs from the one recorded); restore the file and put the change in a new migration');
  // Nothing else was applied either.
  assert.equal(psql(url, "SELECT to_regclass('t_new') IS NULL"), 't');
});

test('migrate_failing_file_is_rolled_back_and_not_recorded', () => {
  const url = createEmptyDatabase();
  const run = bind(url);
  const dir = copyMigrations();
  writeFileSync(path.join(dir, '002_broken.sql'), 'CREATE TABLE t_half (id int);\nSELECT no_such_function();\n');
  const r = expectCode(run(['migrate', '--dir', dir]), 1);
  assert.match(oneErrorLine(r), /^rtadmin: migration 002_broken\.sql failed, nothing from it was applied: function no_such_function\(\) does not exist$/);
  assert.equal(psql(url, "SELECT to_regclass('t_half') IS NULL"), 't');
  assert.equal(psql(url, 'SELECT string_agg(version::text, \',\') FROM schema_migrations'), '1');
});

test('migrate_takes_dir_from_RT_MIGRATIONS_DIR', () => {
  const url = createEmptyDatabase();
  const dir = copyMigrations();
  writeFileSync(path.join(dir, '002_env.sql'), 'CREATE TABLE t_env (id int);\n');
  const r = ok(bind(url)(['migrate'], { RT_MIGRATIONS_DIR: dir }));
  assert.match(r.stdout, /^Applied 002_env\.sql$/m);
});

test('migrate_with_missing_dir_is_a_clear_error', () => {
  const url = createEmptyDatabase();
  const r = expectCode(bind(url)(['migrate', '--dir', '/nonexistent/migrations']), 1);
  assert.equal(oneErrorLine(r), 'rtadmin: --dir /nonexistent/migrations is not a directory');
});

test('two_concurrent_migrates_apply_each_file_once', async () => {
  const url = createEmptyDatabase();
  const once = () => new Promise((resolve) => {
    const p = spawn(RTADMIN, ['migrate', '--json'], {
      env: { PATH: process.env.PATH, RT_DATABASE_URL: url, RT_MASTER_KEY: MASTER_KEY, USER: 'tester' },
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code, out }));
  });
  const results = await Promise.all([once(), once(), once()]);
  assert.deepEqual(results.map((r) => r.code), [0, 0, 0]);
  const appliedCounts = results.map((r) => JSON.parse(r.out).applied.length).sort();
  assert.deepEqual(appliedCounts, [0, 0, 1]);
  assert.equal(psql(url, 'SELECT count(*) FROM schema_migrations'), '1');
  assert.equal(psql(url, "SELECT count(*) FROM audit_log WHERE action = 'schema.migrate'"), '1');
});
