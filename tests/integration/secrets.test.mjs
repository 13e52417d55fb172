// Secrets: where the master key may come from (a file, preferably; never argv), what is left of
// it in the running process (not in /proc/PID/environ, no core dumps, not dumpable), and the
// same rules for rtadmin and in docker-compose.yml (docs/security.md "Secrets").
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  RTSERVER, SOURCE_DIR, MASTER_KEY, createDatabase, createApp, rtadmin, startServer, freePort,
  sanitizerEnv, assertCleanLogs, sleep,
} from '../harness/index.mjs';
import { signedRequest } from './rest_helpers.mjs';

const dir = mkdtempSync(path.join(tmpdir(), 'rt-secrets-'));
let fileCount = 0;

/** Writes text to a fresh file with the given mode (chmod after writing: umask-proof). */
function keyFile(text, mode = 0o600) {
  const file = path.join(dir, `key-${++fileCount}`);
  writeFileSync(file, text);
  chmodSync(file, mode);
  return file;
}

/** Runs rtserver to completion (for configuration errors); env over a minimal base. */
function runServer(env, args = []) {
  const r = spawnSync(RTSERVER, args, {
    encoding: 'utf8', timeout: 20000,
    env: { ...sanitizerEnv(), PATH: process.env.PATH, RT_HOST: '127.0.0.1', ...env },
  });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

/** A signed GET /channels: 200 proves the server decrypted the app secret with the key. */
async function channelsStatus(server, app) {
  return (await signedRequest(server, app, { path: '/channels' })).status;
}

describe('rtserver takes the master key from a file', () => {
  let db, app;
  before(() => {
    db = createDatabase();
    app = createApp(db, [], 'sealed');
  });

  test('RT_MASTER_KEY_FILE holding the key and a newline starts a working server', async () => {
    const file = keyFile(`${MASTER_KEY}\n`);
    const server = await startServer({ dbUrl: db, env: { RT_MASTER_KEY: null, RT_MASTER_KEY_FILE: file } });
    try {
      assert.equal(await channelsStatus(server, app), 200);
    } finally {
      await server.stop();
    }
  });

  test('--master-key-file PATH works the same, base64 and trailing whitespace included', async () => {
    const file = keyFile(`${Buffer.from(MASTER_KEY, 'hex').toString('base64')} \r\n\n`);
    const server = await startServer({ dbUrl: db, env: { RT_MASTER_KEY: null }, args: ['--master-key-file', file] });
    try {
      assert.equal(await channelsStatus(server, app), 200);
    } finally {
      await server.stop();
    }
  });

  test('--master-key-file on the command line wins over RT_MASTER_KEY in the environment', async () => {
    const file = keyFile(MASTER_KEY);
    const server = await startServer({ dbUrl: db, env: { RT_MASTER_KEY: 'ff'.repeat(32) }, args: ['--master-key-file', file] });
    try {
      assert.equal(await channelsStatus(server, app), 200);
    } finally {
      await server.stop();
    }
  });

  test('a master key on the command line is refused with one line and exit 2', () => {
    for (const args of [['--master-key', MASTER_KEY], [`--master-key=${MASTER_KEY}`]]) {
      const r = runServer({ RT_DATABASE_URL: db }, args);
      assert.equal(r.code, 2);
      assert.equal(r.stderr, 'rtserver: --master-key is refused: a key on the command line is visible to every '
        + 'local user (ps, /proc); put it in a file and pass --master-key-file PATH or set RT_MASTER_KEY_FILE\n');
    }
  });

  test('RT_MASTER_KEY and RT_MASTER_KEY_FILE together are refused', () => {
    const r = runServer({ RT_DATABASE_URL: db, RT_MASTER_KEY: MASTER_KEY, RT_MASTER_KEY_FILE: keyFile(MASTER_KEY) });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'rtserver: RT_MASTER_KEY and RT_MASTER_KEY_FILE are both set; keep one (RT_MASTER_KEY_FILE is preferred)\n');
  });

  test('a key file other users can read is refused, as ssh refuses such a private key', () => {
    for (const mode of [0o644, 0o604, 0o620]) {
      const file = keyFile(MASTER_KEY, mode);
      const r = runServer({ RT_DATABASE_URL: db, RT_MASTER_KEY_FILE: file });
      assert.equal(r.code, 2, mode.toString(8));
      assert.equal(r.stderr, `rtserver: RT_MASTER_KEY_FILE ${file} is accessible to other users `
        + `(mode 0${mode.toString(8)}); run: chmod 600 ${file}\n`);
    }
  });

  test('a key file its group may read (0640, e.g. root-owned for the service group) is accepted', async () => {
    const file = keyFile(MASTER_KEY, 0o640);
    const server = await startServer({ dbUrl: db, env: { RT_MASTER_KEY: null, RT_MASTER_KEY_FILE: file } });
    try {
      assert.equal(await channelsStatus(server, app), 200);
    } finally {
      await server.stop();
    }
  });

  test('a missing, non-regular or malformed key file names the file', () => {
    const missing = path.join(dir, 'nope');
    let r = runServer({ RT_DATABASE_URL: db, RT_MASTER_KEY_FILE: missing });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `rtserver: cannot read RT_MASTER_KEY_FILE ${missing}: No such file or directory\n`);

    const sub = path.join(dir, 'a-directory');
    mkdirSync(sub, { mode: 0o700 });
    r = runServer({ RT_DATABASE_URL: db, RT_MASTER_KEY_FILE: sub });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `rtserver: RT_MASTER_KEY_FILE ${sub} is not a regular file\n`);

    for (const text of ['abc\n', `${MASTER_KEY}00\n`, `${MASTER_KEY} x\n`, '\n']) {
      const file = keyFile(text);
      r = runServer({ RT_DATABASE_URL: db, RT_MASTER_KEY_FILE: file });
      assert.equal(r.code, 2, JSON.stringify(text));
      assert.equal(r.stderr, `rtserver: the master key in RT_MASTER_KEY_FILE ${file} must be 64 hex characters `
        + 'or base64 of 32 bytes (generate one with: openssl rand -hex 32)\n');
    }

    const big = keyFile('0'.repeat(5000));
    r = runServer({ RT_DATABASE_URL: db, RT_MASTER_KEY_FILE: big });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `rtserver: RT_MASTER_KEY_FILE ${big} is too large to be a master key `
      + '(expected 64 hex characters or base64 of 32 bytes)\n');
  });

  test('without any key the message names the file setting first', () => {
    const r = runServer({ RT_DATABASE_URL: db });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'rtserver: RT_MASTER_KEY is not set: put the key (e.g. from: openssl rand -hex 32) '
      + 'in a file with mode 600 and set RT_MASTER_KEY_FILE or pass --master-key-file PATH\n');
  });

  test('--help documents --master-key-file and RT_MASTER_KEY_FILE, and no --master-key', () => {
    const r = runServer({}, ['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^ {2}--master-key-file PATH +RT_MASTER_KEY_FILE +\S/m);
    assert.doesNotMatch(r.stdout, /--master-key /);
  });
});

describe('the running server keeps the key to itself', () => {
  let db, server;
  before(async () => {
    db = createDatabase();
    server = await startServer({ dbUrl: db, env: { RT_LOG_LEVEL: 'debug' } });
  });
  after(async () => { await server?.stop(); });

  test('RT_MASTER_KEY is wiped from the process environment after reading (/proc/PID/environ)', () => {
    const environ = readFileSync(`/proc/${server.proc.pid}/environ`, 'latin1');
    assert.ok(environ.includes(`RT_PORT=${server.port}\0`), 'environ is readable and holds the other settings');
    assert.ok(!environ.includes(MASTER_KEY), 'the key text is gone');
    assert.ok(!environ.includes('RT_MASTER_KEY'), 'the variable is gone');
  });

  test('core dumps are off: RLIMIT_CORE is 0 (soft and hard) in /proc/PID/limits', () => {
    const limits = readFileSync(`/proc/${server.proc.pid}/limits`, 'utf8');
    assert.match(limits, /^Max core file size +0 +0 +bytes *$/m);
  });

  test('the key never reaches the log, even at debug level', () => {
    assert.ok(server.logs().length > 0);
    assert.ok(!server.logs().includes(MASTER_KEY));
  });
});

test('the server process is not dumpable: its /proc files belong to root, not to its user', async () => {
  // PR_SET_DUMPABLE 0 makes the kernel hand /proc/PID/{environ,mem,maps,...} to root, so other
  // processes of the same user can neither read them nor ptrace the server. Run it as an
  // unprivileged user (nobody when the test runs as root) so that the owner tells.
  const db = createDatabase();
  const uid = process.getuid() === 0 ? 65534 : process.getuid();
  const port = await freePort();
  const proc = spawn(RTSERVER, [], {
    env: {
      ...sanitizerEnv(), PATH: process.env.PATH, RT_HOST: '127.0.0.1', RT_PORT: String(port),
      RT_DATABASE_URL: db, RT_MASTER_KEY: MASTER_KEY,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(process.getuid() === 0 ? { uid, gid: 65534 } : {}),
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 10000;
    for (;;) {
      try { if ((await fetch(`http://127.0.0.1:${port}/ready`)).ok) break; } catch { /* starting */ }
      assert.ok(Date.now() < deadline && proc.exitCode === null, `rtserver did not start:\n${out}`);
      await sleep(50);
    }
    const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
    assert.match(status, new RegExp(`^Uid:\\t${uid}\\t`, 'm'));
    assert.equal(statSync(`/proc/${proc.pid}/environ`).uid, 0);
    assert.equal(statSync(`/proc/${proc.pid}/status`).uid, 0);
  } finally {
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, out);
    assertCleanLogs(out);
  }
});

describe('rtadmin takes the master key the same way', () => {
  let db, app, run;
  before(() => {
    db = createDatabase();
    app = createApp(db, [], 'cli-sealed');
    run = (args, env) => rtadmin(args, { RT_DATABASE_URL: db, ...env });
  });

  test('RT_MASTER_KEY_FILE alone is enough for commands that read secrets', () => {
    const r = run(['key', 'show-secret', app.key], { RT_MASTER_KEY: '', RT_MASTER_KEY_FILE: keyFile(`${MASTER_KEY}\n`) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${app.secret}\n`);
  });

  test('RT_MASTER_KEY and RT_MASTER_KEY_FILE together are refused', () => {
    const r = run(['key', 'show-secret', app.key], { RT_MASTER_KEY: MASTER_KEY, RT_MASTER_KEY_FILE: keyFile(MASTER_KEY) });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'rtadmin: RT_MASTER_KEY and RT_MASTER_KEY_FILE are both set; keep one (RT_MASTER_KEY_FILE is preferred)\n');
  });

  test('--master-key-file wins over both environment variables', () => {
    const r = run(['key', 'show-secret', app.key, '--master-key-file', keyFile(MASTER_KEY)],
      { RT_MASTER_KEY: 'ff'.repeat(32), RT_MASTER_KEY_FILE: path.join(dir, 'nope') });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${app.secret}\n`);
  });

  test('a key file other users can read is refused', () => {
    const file = keyFile(MASTER_KEY, 0o644);
    const r = run(['key', 'show-secret', app.key], { RT_MASTER_KEY: '', RT_MASTER_KEY_FILE: file });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `rtadmin: RT_MASTER_KEY_FILE ${file} is accessible to other users (mode 0644); run: chmod 600 ${file}\n`);
  });
});

test('docker-compose.yml hands the key to rtserver and rtadmin as a file, not a variable', () => {
  const env = { ...process.env };
  delete env.RT_MASTER_KEY;
  const r = spawnSync('docker-compose', ['-f', `${SOURCE_DIR}/docker-compose.yml`, 'config'], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /RT_MASTER_KEY:/);
  const services = r.stdout.split(/^ {2}(?=\S)/m);
  for (const name of ['rtserver-1', 'rtserver-2', 'rtadmin']) {
    const service = services.find((s) => s.startsWith(`${name}:`));
    assert.ok(service, name);
    assert.match(service, /^ {6}RT_MASTER_KEY_FILE: \/run\/secrets\/master_key$/m, name);
    assert.match(service, /^ {4}secrets:\n {4}- source: master_key$/m, name);
  }
});
