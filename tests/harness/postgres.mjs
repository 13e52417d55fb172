// A private, throwaway PostgreSQL cluster for tests that stop and restart the database
// (the shared one from scripts/services must stay up for the suites running beside them).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PG_BIN, freePort } from './index.mjs';

const asRoot = process.getuid && process.getuid() === 0;

function pgRun(cmd, args) {
  const bin = path.join(PG_BIN, cmd);
  const r = asRoot
    ? spawnSync('runuser', ['-u', 'postgres', '--', bin, ...args], { encoding: 'utf8' })
    : spawnSync(bin, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export async function startPrivatePostgres() {
  const dir = mkdtempSync(path.join(tmpdir(), 'rt-pg-'));
  chmodSync(dir, 0o777);
  const data = path.join(dir, 'data');
  if (asRoot) spawnSync('chown', ['postgres:', dir]);
  pgRun('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  const port = await freePort();
  const pg = {
    port,
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    start() {
      pgRun('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-w', '-t', '30', '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
    },
    stop() { pgRun('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']); },
    destroy() {
      try { pg.stop(); } catch { /* already stopped */ }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  pg.start();
  return pg;
}
