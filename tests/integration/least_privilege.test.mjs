// Least privilege (docs/security.md "Database roles"): after `rtadmin migrate` the group role
// realtime_server may read apps, app_keys and app_webhooks and nothing else, and rtserver runs
// fully with a login role in that group: it loads apps, serves clients and REST, and follows
// changes rtadmin makes with the owner role (LISTEN/NOTIFY).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  PG_URL, SOURCE_DIR, BUILD_DIR, MASTER_KEY, createDatabase, createEmptyDatabase, createApp, rtadmin,
  psql, startServer, waitFor, sleep, freePort,
} from '../harness/index.mjs';
import { startPrivatePostgres } from '../harness/postgres.mjs';
import { connectClient, subscribe, eventsOf, restClient, signedRequest } from './rest_helpers.mjs';

/** The same database URL with another user (the local cluster trusts 127.0.0.1). */
const asUser = (url, user) => url.replace(/^postgresql:\/\/[^@/]*@/, `postgresql://${user}@`);

/** Runs sql as whoever url names; {code, stdout, stderr} (no throw: refusals are the point). */
function psqlTry(url, sql) {
  const r = spawnSync('psql', [url, '-qAtX', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

/** A fresh login role in realtime_server (roles are cluster-wide: unique name, dropped after). */
function createServerLogin() {
  const name = `rt_srv_${randomBytes(5).toString('hex')}`;
  psql(PG_URL, `CREATE ROLE ${name} LOGIN IN ROLE realtime_server`);
  return name;
}

describe('the realtime_server role after rtadmin migrate', () => {
  let db, role, serverDb, app;
  before(() => {
    db = createDatabase();
    app = createApp(db, [], 'readable');
    assert.equal(rtadmin(['webhook', 'add', app.id, 'https://example.com/hook'], { RT_DATABASE_URL: db }).code, 0);
    role = createServerLogin();
    serverDb = asUser(db, role);
  });
  after(() => { psql(PG_URL, `DROP ROLE IF EXISTS ${role}`); });

  test('realtime_server is a group role that cannot log in', () => {
    assert.equal(psql(db, "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = 'realtime_server'"), 'f|f|f|f');
  });

  test('realtime_server holds SELECT on apps, app_keys and app_webhooks and no other table privilege', () => {
    const granted = psql(db, `
      SELECT c.relname || ':' || p.priv FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
        CROSS JOIN unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) AS p(priv)
       WHERE c.relkind IN ('r', 'v', 'm', 'p')
         AND has_table_privilege('realtime_server', c.oid, p.priv)
       ORDER BY 1`);
    assert.deepEqual(granted.split('\n'), ['app_keys:SELECT', 'app_webhooks:SELECT', 'apps:SELECT']);
    const sequences = psql(db, `
      SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
       WHERE c.relkind = 'S' AND (has_sequence_privilege('realtime_server', c.oid, 'USAGE')
                               OR has_sequence_privilege('realtime_server', c.oid, 'UPDATE'))`);
    assert.equal(sequences, '0');
  });

  test('a login role in realtime_server reads apps, keys and webhooks', () => {
    assert.equal(psqlTry(serverDb, `SELECT name FROM apps WHERE id = '${app.id}'`).stdout, 'readable');
    assert.equal(psqlTry(serverDb, `SELECT count(*) FROM app_keys WHERE app_id = '${app.id}'`).stdout, '1');
    assert.equal(psqlTry(serverDb, `SELECT url FROM app_webhooks WHERE app_id = '${app.id}'`).stdout, 'https://example.com/hook');
  });

  for (const [what, sql, table] of [
    ['inserting an app', "INSERT INTO apps (id, name) VALUES ('99', 'x')", 'apps'],
    ['updating an app', `UPDATE apps SET enabled = false WHERE id = '${'$'}ID'`, 'apps'],
    ['deleting an app', 'DELETE FROM apps', 'apps'],
    ['truncating apps', 'TRUNCATE apps CASCADE', 'apps'],
    ['inserting a key', "INSERT INTO app_keys (key, app_id, secret_enc) VALUES ('abcdefgh', '1', '\\x00')", 'app_keys'],
    ['revoking a key', "UPDATE app_keys SET status = 'revoked'", 'app_keys'],
    ['deleting a key', 'DELETE FROM app_keys', 'app_keys'],
    ['adding a webhook', "INSERT INTO app_webhooks (app_id, url) VALUES ('1', 'https://evil.example/')", 'app_webhooks'],
    ['changing a webhook', "UPDATE app_webhooks SET url = 'https://evil.example/'", 'app_webhooks'],
    ['removing a webhook', 'DELETE FROM app_webhooks', 'app_webhooks'],
    ['writing the audit log', "INSERT INTO audit_log (actor, action) VALUES ('x', 'y')", 'audit_log'],
  ]) {
    test(`a login role in realtime_server is refused ${what}`, () => {
      const r = psqlTry(serverDb, sql.replace('$ID', app.id));
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`permission denied for table ${table}\\b`));
    });
  }

  test('a login role in realtime_server cannot read the audit log or schema_migrations', () => {
    for (const table of ['audit_log', 'schema_migrations']) {
      const r = psqlTry(serverDb, `SELECT count(*) FROM ${table}`);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`permission denied for table ${table}\\b`));
    }
  });

  test('a login role in realtime_server cannot create tables', () => {
    const r = psqlTry(serverDb, 'CREATE TABLE public.planted (x int)');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /permission denied for schema public/);
  });

  test('nothing was written by the refused attempts', () => {
    assert.equal(psql(db, `SELECT enabled FROM apps WHERE id = '${app.id}'`), 't');
    assert.equal(psql(db, "SELECT count(*) FROM app_keys WHERE status = 'active'"), '1');
    assert.equal(psql(db, 'SELECT url FROM app_webhooks'), 'https://example.com/hook');
  });

  test('migrating again keeps the grants and applies nothing', () => {
    const r = rtadmin(['migrate'], { RT_DATABASE_URL: db });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Nothing to apply/);
    assert.equal(psqlTry(serverDb, 'SELECT count(*) FROM apps').stdout, '1');
  });
});

describe('rtserver connected with a realtime_server login role', { timeout: 60000 }, () => {
  let db, role, server;
  before(async () => {
    db = createDatabase();
    createApp(db, [], 'before-start');
    role = createServerLogin();
    server = await startServer({ dbUrl: asUser(db, role) });
  });
  after(async () => {
    await server?.stop();
    psql(PG_URL, `DROP ROLE IF EXISTS ${role}`);
  });

  test('serves a subscriber and a REST trigger of an app created after start (hot reload)', async () => {
    const app = createApp(db, [], 'after-start');
    await waitFor(async () => (await signedRequest(server, app, { path: '/channels' })).status === 200,
      1000, 'app created by rtadmin visible to the server');
    const client = await connectClient(server, app);
    await subscribe(client, 'orders');
    const res = await restClient(server, app).trigger('orders', 'shipped', { id: 42 });
    assert.equal(res.status, 200);
    await waitFor(() => eventsOf(client, 'orders', 'shipped').length === 1, 2000, 'event delivered');
    assert.deepEqual(eventsOf(client, 'orders', 'shipped')[0].data, { id: 42 });
    client.disconnect();
  });

  test('follows a key rotation made by rtadmin with the owner role', async () => {
    const app = createApp(db, [], 'rotated');
    await waitFor(async () => (await signedRequest(server, app, { path: '/channels' })).status === 200, 1000, 'app visible');
    const r = rtadmin(['key', 'rotate', app.id, '--revoke-old', '--json'], { RT_DATABASE_URL: db });
    assert.equal(r.code, 0, r.stderr);
    const fresh = r.json();
    const rotated = { ...app, key: fresh.key, secret: fresh.secret };
    await waitFor(async () => (await signedRequest(server, rotated, { path: '/channels' })).status === 200, 1000, 'new key accepted');
    await waitFor(async () => (await signedRequest(server, app, { path: '/channels' })).status === 401, 1000, 'old key refused');
  });

  test('logged no database permission error', async () => {
    await sleep(100);
    assert.doesNotMatch(server.logs(), /permission denied/i);
  });
});

describe('the README run command', { timeout: 120000 }, () => {
  test('starts rtserver as rt_server, a realtime_server member that may not write', async () => {
    const port = await freePort();
    const started = psql(PG_URL, 'SELECT now()');
    const proc = spawn(`${SOURCE_DIR}/scripts/run`, [], {
      env: { ...process.env, RT_SKIP_DEPS: '1', RT_SKIP_BUILD: '1', RT_PORT: String(port), RT_MASTER_KEY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    try {
      await waitFor(async () => { try { return (await fetch(`http://127.0.0.1:${port}/ready`)).ok; } catch { return false; } },
        60000, `ready; output so far:\n${out}`);
      const serverUrl = /database role:\s+rt_server \(read-only: (\S+)\)/.exec(out)?.[1];
      assert.match(serverUrl ?? '', /^postgresql:\/\/rt_server@127\.0\.0\.1:\d+\/realtime$/, out);
      // The server's connection that follows app changes, opened after we started scripts/run.
      await waitFor(() => psql(PG_URL, `SELECT count(*) FROM pg_stat_activity WHERE datname = 'realtime'
        AND usename = 'rt_server' AND backend_start > '${started}'`) !== '0',
      5000, 'an rtserver connection as rt_server');
      assert.equal(psql(PG_URL, "SELECT pg_has_role('rt_server', 'realtime_server', 'member') AND NOT rolsuper FROM pg_roles WHERE rolname = 'rt_server'"), 't');
      const write = psqlTry(serverUrl, "UPDATE apps SET enabled = false");
      assert.equal(write.code, 1);
      assert.match(write.stderr, /permission denied for table apps/);
    } finally {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.on('exit', r)));
    }
  });
});

describe('docker-compose.yml', () => {
  /** The compose file as docker-compose resolves it with these .env values. */
  function composeConfig(env) {
    const r = spawnSync('docker-compose', ['-f', `${SOURCE_DIR}/docker-compose.yml`, 'config'], {
      encoding: 'utf8', env: { PATH: process.env.PATH, ...env },
    });
    assert.equal(r.status, 0, r.stderr);
    const json = spawnSync('python3', ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'],
      { encoding: 'utf8', input: r.stdout });
    assert.equal(json.status, 0, json.stderr);
    return JSON.parse(json.stdout).services;
  }

  /** Runs the migrate service's entrypoint here, against url, with rtadmin and migrations from
   *  this tree (the image's paths do not exist outside it). */
  function runMigrateService(services, url, env) {
    const [shell, flag, script] = services.migrate.entrypoint;
    return spawnSync(shell, [flag, script.replaceAll('$$', '$')], {
      encoding: 'utf8',
      env: {
        PATH: `${BUILD_DIR}:${process.env.PATH}`, ...services.migrate.environment,
        RT_DATABASE_URL: url, RT_MIGRATIONS_DIR: `${SOURCE_DIR}/migrations`, ...env,
      },
    });
  }

  test('rtserver connects as the server role and never sees the owner password', () => {
    const services = composeConfig({ POSTGRES_PASSWORD: 'owner-pw-123', RT_SERVER_DB_PASSWORD: 'server-pw-456' });
    for (const node of ['rtserver-1', 'rtserver-2']) {
      assert.equal(services[node].environment.RT_DATABASE_URL, 'postgresql://rt_server:server-pw-456@postgres:5432/realtime', node);
      assert.ok(!JSON.stringify(services[node]).includes('owner-pw-123'), node);
      assert.deepEqual(services[node].depends_on.migrate, { condition: 'service_completed_successfully' }, node);
    }
    assert.equal(services.migrate.environment.RT_DATABASE_URL, 'postgresql://realtime:owner-pw-123@postgres:5432/realtime');
    assert.equal(services.rtadmin.environment.RT_DATABASE_URL, 'postgresql://realtime:owner-pw-123@postgres:5432/realtime');
  });

  test('the migrate service migrates and creates the server role with the .env password', () => {
    const role = `rt_cmp_${randomBytes(5).toString('hex')}`;
    const url = createEmptyDatabase();
    try {
      const services = composeConfig({ RT_SERVER_DB_USER: role, RT_SERVER_DB_PASSWORD: 'compose-pw' });
      const r = runMigrateService(services, url, {});
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /Applied \d+ migrations; the database is at version \d+/);
      assert.match(r.stdout, new RegExp(`Role ${role} created`));
      assert.ok(!r.stdout.includes('compose-pw'));
      assert.equal(psql(url, `SELECT pg_has_role('${role}', 'realtime_server', 'member')`), 't');
      assert.match(psql(PG_URL, `SELECT rolpassword FROM pg_authid WHERE rolname = '${role}'`), /^SCRAM-SHA-256\$/);
      const asServer = asUser(url, role);
      assert.equal(psqlTry(asServer, 'SELECT count(*) FROM apps').stdout, '0');
      assert.match(psqlTry(asServer, "INSERT INTO apps (id, name) VALUES ('1', 'x')").stderr, /permission denied for table apps/);
      const again = runMigrateService(services, url, {});
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`Role ${role} updated`));
    } finally {
      psql(PG_URL, `DROP ROLE IF EXISTS ${role}`);
    }
  });

  test('the migrate service refuses to run without RT_SERVER_DB_PASSWORD, so rtserver does not start', () => {
    const url = createEmptyDatabase();
    const r = runMigrateService(composeConfig({}), url, {});
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'migrate: set RT_SERVER_DB_PASSWORD in .env (openssl rand -hex 24)\n');
    assert.equal(psql(url, "SELECT to_regclass('apps') IS NULL"), 't');
  });
});

describe('migrating with a role that may not create roles', { timeout: 60000 }, () => {
  // A private cluster: in the shared one realtime_server exists already.
  let pg, owner, db;
  before(async () => {
    pg = await startPrivatePostgres();
    psql(pg.url, 'CREATE ROLE rt_owner LOGIN');
    psql(pg.url, 'CREATE DATABASE rt OWNER rt_owner');
    owner = pg.url.replace(/postgres@/, 'rt_owner@').replace(/\/postgres$/, '/rt');
    db = pg.url.replace(/\/postgres$/, '/rt');
    psql(db, 'ALTER SCHEMA public OWNER TO rt_owner');
  });
  after(() => pg?.destroy());

  test('succeeds without realtime_server; create-server-role run by a superuser adds the group and its grants', () => {
    const r = rtadmin(['migrate'], { RT_DATABASE_URL: owner });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(psql(db, "SELECT count(*) FROM pg_roles WHERE rolname = 'realtime_server'"), '0');
    const refused = rtadmin(['db', 'create-server-role', 'rt_server'], { RT_DATABASE_URL: owner });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^rtadmin: cannot create role realtime_server: permission denied to create role \(run this as a superuser or a role with CREATEROLE\)\n$/);
    // The tables belong to rt_owner; a superuser may grant on them too.
    const made = rtadmin(['db', 'create-server-role', 'rt_server', '--no-password'], { RT_DATABASE_URL: db });
    assert.equal(made.code, 0, made.stderr);
    const server = asUser(db, 'rt_server');
    assert.equal(psqlTry(server, 'SELECT count(*) FROM app_keys').stdout, '0');
    assert.match(psqlTry(server, 'SELECT count(*) FROM audit_log').stderr, /permission denied for table audit_log/);
  });

  test('a role with CREATEROLE creates realtime_server itself', () => {
    psql(pg.url, 'CREATE ROLE rt_owner2 LOGIN CREATEROLE');
    psql(pg.url, 'CREATE DATABASE rt2 OWNER rt_owner2');
    const db2 = pg.url.replace(/\/postgres$/, '/rt2');
    psql(db2, 'ALTER SCHEMA public OWNER TO rt_owner2');
    psql(pg.url, 'DROP ROLE IF EXISTS rt_server');
    // The first test's database holds grants to realtime_server: drop it so the group can go.
    psql(pg.url, 'DROP DATABASE rt');
    psql(pg.url, 'DROP ROLE realtime_server');
    const r = rtadmin(['migrate'], { RT_DATABASE_URL: db2.replace('postgres@', 'rt_owner2@') });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(psql(db2, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'realtime_server'"), 'f');
    assert.equal(psql(db2, "SELECT has_table_privilege('realtime_server', 'apps', 'SELECT'), has_table_privilege('realtime_server', 'apps', 'INSERT')"), 't|f');
  });
});
