// The chat demo (examples/chat, started by scripts/demo) driven in headless Chromium: one page
// on sdk-js, one on laravel-echo + pusher-js, in the same presence room. A message typed in
// one appears in the other, and both presence lists show both people.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { SOURCE_DIR, BUILD_DIR, MASTER_KEY, createDatabase, freePort, waitFor } from '../harness/index.mjs';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('chat demo: sdk-js and laravel-echo in one presence room', { timeout: 180000 }, () => {
  let demo, out = '', dir, browser, urls;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'rtdemo-'));
    const [rtPort, webPort] = [await freePort(), await freePort()];
    demo = spawn(path.join(SOURCE_DIR, 'scripts/demo'), [], {
      env: {
        PATH: process.env.PATH, HOME: process.env.HOME, RT_SKIP_DEPS: '1', RT_SKIP_BUILD: '1',
        RT_BUILD_DIR: BUILD_DIR, RT_DATABASE_URL: createDatabase(), RT_MASTER_KEY: MASTER_KEY,
        RT_PORT: String(rtPort), RT_DEMO_PORT: String(webPort), RT_DEMO_DIR: dir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    demo.stdout.on('data', (d) => (out += d));
    demo.stderr.on('data', (d) => (out += d));
    urls = await waitFor(() => {
      const sdk = /sdk-js page:\s+(\S+)/.exec(out)?.[1];
      const echo = /laravel-echo \+ pusher-js:\s+(\S+)/.exec(out)?.[1];
      return sdk && echo && { sdk, echo };
    }, 120000, 'the demo URLs');
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });
  after(async () => {
    await browser?.close();
    if (demo && demo.exitCode === null) {
      demo.kill('SIGTERM');
      await new Promise((r) => demo.on('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('scripts/demo prints both pages with names to try', () => {
    assert.match(urls.sdk, /^http:\/\/127\.0\.0\.1:\d+\/sdk-js\.html\?name=Alice$/);
    assert.match(urls.echo, /^http:\/\/127\.0\.0\.1:\d+\/echo\.html\?name=Bob$/);
  });

  test('a message typed in either page appears in the other, and both see both members', async () => {
    // Two browser contexts: two people, as on two machines.
    const alice = await (await browser.newContext()).newPage();
    const bob = await (await browser.newContext()).newPage();
    const errors = [];
    for (const p of [alice, bob]) p.on('pageerror', (e) => errors.push(e.message));
    await alice.goto(urls.sdk);
    await bob.goto(urls.echo);
    const members = (p) => p.$$eval('#members li', (lis) => lis.map((li) => li.dataset.name));
    for (const p of [alice, bob]) {
      await waitFor(async () => JSON.stringify(await members(p)) === '["Alice","Bob"]', 10000, `both members on ${p.url()}: ${await members(p)}`);
      assert.equal(await p.textContent('#state'), 'connected');
    }
    await alice.fill('#text', 'hello from sdk-js');
    await alice.press('#text', 'Enter');
    await bob.waitForSelector('#log li[data-text="hello from sdk-js"]', { timeout: 5000 });
    assert.equal(await bob.textContent('#log li:last-child'), 'Alice: hello from sdk-js');
    await bob.fill('#text', 'hi from Echo');
    await bob.click('#say button');
    await alice.waitForSelector('#log li[data-text="hi from Echo"]', { timeout: 5000 });
    assert.deepEqual(await alice.$$eval('#log li', (lis) => lis.map((li) => li.textContent)),
      ['Alice: hello from sdk-js', 'Bob: hi from Echo']);
    // Bob leaves: Alice's list follows.
    await bob.close();
    await waitFor(async () => JSON.stringify(await members(alice)) === '["Alice"]', 10000, 'Bob to leave');
    assert.deepEqual(errors, []);
  });

  test('the backend refuses what it should not sign or publish', async () => {
    const base = new URL(urls.sdk).origin;
    const auth = await fetch(`${base}/auth`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'socket_id=1.1&channel_name=private-x&user_id=u&name=n' });
    assert.equal(auth.status, 403);
    const msg = await fetch(`${base}/messages`, { method: 'POST', body: JSON.stringify({ user_id: 'u', name: 'n', text: '' }) });
    assert.equal(msg.status, 422);
    assert.deepEqual(await msg.json(), { error: 'text (1 to 500 characters), name and user_id are required' });
  });
});
