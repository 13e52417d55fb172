// Shared helpers for the rtadmin black-box suites: run rtadmin against one database, read
// tables back with psql, and assert exit codes with the output in the failure message.
import assert from 'node:assert/strict';
import { rtadmin, psql, createDatabase } from '../harness/index.mjs';

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
