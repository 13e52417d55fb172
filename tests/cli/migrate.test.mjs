// rtadmin migrate: ordered, idempotent, checksummed, concurrency-safe schema migrations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, cpSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createEmptyDatabase, psql, RTADMIN, MASTER_KEY } from '../harness/index.mjs';
import {
  bind, ok, expectCode, rows, oneErrorLine,
  MIGRATIONS_DIR, REPO_MIGRATIONS, LATEST_VERSION, migrationName, appliedSummary,
} from './cli-helpers.mjs';

// Everything below is derived from the repo's migrations/ so that adding a migration there does
// not break these tests; extra test migrations are numbered after the repo's latest version.
const REPO_VERSIONS = REPO_MIGRATIONS.map((m) => m.version);
const REPO_APPLIED_LINES = REPO_MIGRATIONS.map((m) => `Applied ${m.name}`);
const appliedLines = (stdout) => stdout.split('\n').filter((l) => l.startsWith('Applied '));

function copyMigrations() {
  const dir = mkdtempSync(path.join(tmpdir(), 'rt-migrations-'));
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

test('repo_has_migrations_starting_at_001', () => {
  // Sanity check of the derived list the other tests build on.
  assert.equal(REPO_MIGRATIONS[0].name, '001_initial_schema.sql');
  assert.equal(new Set(REPO_VERSIONS).size, REPO_VERSIONS.length);
});

test('migrate_applies_repo_migrations_then_second_run_is_a_no_op', () => {
  const url = createEmptyDatabase();
  const run = bind(url);
  const first = ok(run(['migrate']));
  assert.deepEqual(appliedLines(first.stdout),
    [...REPO_APPLIED_LINES, appliedSummary(REPO_MIGRATIONS.length, LATEST_VERSION)]);

  const second = ok(run(['migrate']));
  assert.doesNotMatch(second.stdout, /^Applied /m);
  // The line ends with the directory rtadmin found next to its binary, which depends on the build.
  assert.match(second.stdout, new RegExp(`^Nothing to apply: the database is up to date \\(version ${LATEST_VERSION}, `));

  const applied = rows(url, 'SELECT version, name, checksum FROM schema_migrations ORDER BY version');
  assert.deepEqual(applied, REPO_MIGRATIONS);
  assert.equal(psql(url, "SELECT to_regclass('apps') IS NOT NULL"), 't');
});

test('migrate_json_lists_what_it_applied', () => {
  const url = createEmptyDatabase();
  const run = bind(url);
  const out = ok(run(['migrate', '--json'])).json();
  assert.equal(out.version, LATEST_VERSION);
  assert.deepEqual(out.applied, REPO_MIGRATIONS);
  assert.deepEqual(ok(run(['migrate', '--json'])).json().applied, []);
});

test('migrate_records_each_applied_file_in_the_audit_log', () => {
  const url = createEmptyDatabase();
  ok(bind(url)(['migrate']));
  const audit = rows(url, 'SELECT actor, action, app_id, details FROM audit_log ORDER BY id');
  assert.deepEqual(audit, REPO_MIGRATIONS.map(({ name, version, checksum }) => ({
    actor: 'tester', action: 'schema.migrate', app_id: null, details: { name, version, checksum },
  })));
});

test('migrate_applies_new_files_in_version_order_from_dir', () => {
  const url = createEmptyDatabase();
  const run = bind(url);
  const dir = copyMigrations();
  ok(run(['migrate', '--dir', dir]));
  // Versions after the repo's latest, with a gap: the later one is written first and depends on
  // the earlier one, so only version order works.
  const early = LATEST_VERSION + 1, later = LATEST_VERSION + 9;
  writeFileSync(path.join(dir, migrationName(later, 'later')), 'CREATE TABLE t_later (id int REFERENCES t_early(id));\n');
  writeFileSync(path.join(dir, migrationName(early, 'early')), 'CREATE TABLE t_early (id int PRIMARY KEY);\n');
  writeFileSync(path.join(dir, 'README.md'), 'not a migration');
  const r = ok(run(['migrate', '--dir', dir]));
  assert.deepEqual(appliedLines(r.stdout), [
    `Applied ${migrationName(early, 'early')}`, `Applied ${migrationName(later, 'later')}`, appliedSummary(2, later),
  ]);
  assert.deepEqual(rows(url, 'SELECT version FROM schema_migrations ORDER BY version').map((x) => x.version),
    [...REPO_VERSIONS, early, later]);
});

test('migrate_refuses_an_already_applied_file_that_was_edited', () => {
  const url = createEmptyDatabase();
  const run = bind(url);
  const dir = copyMigrations();
  ok(run(['migrate', '--dir', dir]));
  const edited = REPO_MIGRATIONS[0].name;
  appendFileSync(path.join(dir, edited), '\n-- edited after the fact\n');
  writeFileSync(path.join(dir, migrationName(LATEST_VERSION + 1, 'new')), 'CREATE TABLE t_new (id int);\n');
  const r = expectCode(run(['migrate', '--dir', dir]), 1);
  assert.equal(oneErrorLine(r), `rtadmin: migration ${edited} was changed after it was applied ` +
    '(its sha256 differs from the one recorded); restore the file and put the change in a new migration');
  // Nothing else was applied either.
  assert.equal(psql(url, "SELECT to_regclass('t_new') IS NULL"), 't');
});

test('migrate_failing_file_is_rolled_back_and_not_recorded', () => {
  const url = createEmptyDatabase();
  const run = bind(url);
  const dir = copyMigrations();
  const broken = migrationName(LATEST_VERSION + 1, 'broken');
  writeFileSync(path.join(dir, broken), 'CREATE TABLE t_half (id int);\nSELECT no_such_function();\n');
  const r = expectCode(run(['migrate', '--dir', dir]), 1);
  assert.equal(oneErrorLine(r),
    `rtadmin: migration ${broken} failed, nothing from it was applied: function no_such_function() does not exist`);
  assert.equal(psql(url, "SELECT to_regclass('t_half') IS NULL"), 't');
  // The repo's migrations before it were applied and recorded.
  assert.equal(psql(url, 'SELECT string_agg(version::text, \',\' ORDER BY version) FROM schema_migrations'),
    REPO_VERSIONS.join(','));
});

test('migrate_takes_dir_from_RT_MIGRATIONS_DIR', () => {
  const url = createEmptyDatabase();
  const dir = copyMigrations();
  const env = migrationName(LATEST_VERSION + 1, 'env');
  writeFileSync(path.join(dir, env), 'CREATE TABLE t_env (id int);\n');
  const r = ok(bind(url)(['migrate'], { RT_MIGRATIONS_DIR: dir }));
  assert.deepEqual(appliedLines(r.stdout),
    [...REPO_APPLIED_LINES, `Applied ${env}`, appliedSummary(REPO_MIGRATIONS.length + 1, LATEST_VERSION + 1)]);
  assert.equal(psql(url, "SELECT to_regclass('t_env') IS NOT NULL"), 't');
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
  const outs = results.map((r) => JSON.parse(r.out));
  // Each file is applied by exactly one of them (which one gets which file is up to the race);
  // all end at the latest version.
  const appliedNames = outs.flatMap((o) => o.applied.map((m) => m.name)).sort();
  assert.deepEqual(appliedNames, REPO_MIGRATIONS.map((m) => m.name).sort());
  assert.deepEqual(outs.map((o) => o.version), [LATEST_VERSION, LATEST_VERSION, LATEST_VERSION]);
  assert.equal(psql(url, 'SELECT count(*) FROM schema_migrations'), String(REPO_MIGRATIONS.length));
  assert.equal(psql(url, "SELECT count(*) FROM audit_log WHERE action = 'schema.migrate'"), String(REPO_MIGRATIONS.length));
});
