// Shared helpers for the rtadmin black-box suites: run rtadmin against one database, read
// tables back with psql, and assert exit codes with the output in the failure message.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { rtadmin, psql, createDatabase, SOURCE_DIR } from '../harness/index.mjs';

/** The repo's migrations directory. */
export const MIGRATIONS_DIR = path.join(SOURCE_DIR, 'migrations');

export const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The migrations in dir, read the way rtadmin reads them (NNN_name.sql, up to 9 digits),
 *  sorted by version: [{version, name, checksum}]. */
export function listMigrations(dir = MIGRATIONS_DIR) {
  return readdirSync(dir)
    .map((name) => ({ name, m: /^(\d{1,9})_.*\.sql$/.exec(name) }))
    .filter(({ m }) => m)
    .map(({ name, m }) => ({ version: Number(m[1]), name, checksum: sha256(path.join(dir, name)) }))
    .sort((a, b) => a.version - b.version);
}

/** The repo's migrations, and the version a fully migrated database is at. */
export const REPO_MIGRATIONS = listMigrations();
export const LATEST_VERSION = REPO_MIGRATIONS.length ? REPO_MIGRATIONS[REPO_MIGRATIONS.length - 1].version : 0;

/** A migration file name for version (zero-padded to 3 digits like the repo's), e.g. 003_x.sql. */
export const migrationName = (version, what) => `${String(version).padStart(3, '0')}_${what}.sql`;

/** rtadmin migrate's closing line after applying count files. */
export const appliedSummary = (count, version) =>
  `Applied ${count} migration${count === 1 ? '' : 's'}; the database is at version ${version}`;

/** Returns a runner bound to a database URL: run(args, env) -> {code, stdout, stderr, json}. */
export function bind(url) {
  return (args, env = {}, input) => rtadmin(args, { RT_DATABASE_URL: url, ...env }, input);
}

/** A fresh migrated database and a runner for it. */
export function freshDatabase() {
  const url = createDatabase();
  return { url, run: bind(url) };
}

/** Asserts the exit code, showing stdout/stderr when it differs; returns r. */
export function expectCode(r, code) {
  assert.equal(r.code, code, `exit ${r.code}, expected ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

export const ok = (r) => expectCode(r, 0);

/** Rows of a query as parsed JSON (array of objects). */
export function rows(url, sql) {
  return JSON.parse(psql(url, `SELECT coalesce(json_agg(t), '[]') FROM (${sql}) t`));
}

/** audit_log rows in insertion order. */
export function auditRows(url, where = 'true') {
  return rows(url, `SELECT actor, action, app_id, details FROM audit_log WHERE ${where} ORDER BY id`);
}

/** stderr must be exactly one line, starting with "rtadmin: ". Returns that line. */
export function oneErrorLine(r) {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `expected one stderr line, got:\n${r.stderr}`);
  assert.match(lines[0], /^rtadmin: /);
  return lines[0];
}
