// rtadmin's configuration and usage errors: one clear line on stderr, the right exit code,
// never a crash; --help for every command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rtadmin, PG_URL } from '../harness/index.mjs';
import { freshDatabase, ok, expectCode, oneErrorLine } from './cli-helpers.mjs';

const COMMANDS = [
  ['migrate'], ['app', 'create'], ['app', 'list'], ['app', 'show'], ['app', 'update'], ['app', 'enable'],
  ['app', 'disable'], ['app', 'delete'], ['key', 'create'], ['key', 'list'], ['key', 'revoke'],
  ['key', 'rotate'], ['key', 'show-secret'], ['webhook', 'add'], ['webhook', 'list'],
  ['webhook', 'remove'], ['audit'], ['trigger'],
];

test('help_lists_every_command_and_exits_0', () => {
  for (const args of [['--help'], ['-h'], ['help']]) {
    const r = ok(rtadmin(args, { RT_MASTER_KEY: '' }));
    assert.match(r.stdout, /^Usage: rtadmin /);
    for (const cmd of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${cmd.join(' ')} +\\S`, 'm'), cmd.join(' '));
  }
});

test('every_command_has_help_that_needs_no_configuration', () => {
  for (const cmd of COMMANDS) {
    const r = ok(rtadmin([...cmd, '--help'], { RT_MASTER_KEY: '' }));
    assert.ok(r.stdout.startsWith(`Usage: rtadmin ${cmd.join(' ')}`), r.stdout);
    assert.match(r.stdout, /^Global options:$/m);
    assert.equal(r.stderr, '');
  }
  assert.match(ok(rtadmin(['app', 'update', '--help'])).stdout, /^ {2}--no-client-events +turn --client-events off$/m);
  assert.match(ok(rtadmin(['app', 'create', '--help'])).stdout, /^ {2}--max-payload-kb N +event payload size in KB, 1-1024 \(default 10\)$/m);
  assert.match(ok(rtadmin(['app', '--help'])).stdout, /^ {2}app delete +/m);
});

test('no_command_or_unknown_command_is_a_usage_error', () => {
  const none = expectCode(rtadmin([]), 2);
  assert.match(none.stderr, /^Usage: rtadmin /);
  assert.equal(oneErrorLine(expectCode(rtadmin(['frobnicate']), 2)), "rtadmin: unknown command 'frobnicate' (see: rtadmin --help)");
  assert.equal(oneErrorLine(expectCode(rtadmin(['app', 'frobnicate']), 2)), "rtadmin: unknown command 'app frobnicate' (see: rtadmin app --help)");
  assert.match(expectCode(rtadmin(['key']), 2).stderr, /^Usage: rtadmin key SUBCOMMAND/);
  assert.equal(oneErrorLine(expectCode(rtadmin(['--bogus', 'app', 'list']), 2)), 'rtadmin: unknown option --bogus before the command (see: rtadmin --help)');
});

test('missing_arguments_are_usage_errors_before_any_configuration_is_read', () => {
  const env = { RT_DATABASE_URL: '', RT_MASTER_KEY: '' };
  const cases = [
    [['app', 'show'], 'rtadmin: app show: missing argument (usage: rtadmin app show APP) (see: rtadmin app show --help)'],
    [['key', 'revoke'], 'rtadmin: key revoke: missing argument (usage: rtadmin key revoke KEY [--disconnect]) (see: rtadmin key revoke --help)'],
    [['webhook', 'add', '1'], 'rtadmin: webhook add: missing argument (usage: rtadmin webhook add APP URL [--events KIND,KIND] [--batch-window-ms MS] [--batch-max N]) (see: rtadmin webhook add --help)'],
    [['trigger', '1', 'ch', 'ev'], 'rtadmin: trigger: missing argument (usage: rtadmin trigger APP CHANNEL EVENT DATA [--server URL]) (see: rtadmin trigger --help)'],
    [['channels'], 'rtadmin: channels: missing argument (usage: rtadmin channels APP [--prefix P] [--server URL]) (see: rtadmin channels --help)'],
    [['stats', '1', '2'], "rtadmin: stats: unexpected argument '2' (see: rtadmin stats --help)"],
    [['app', 'list', 'extra'], "rtadmin: app list: unexpected argument 'extra' (see: rtadmin app list --help)"],
    [['app', 'list', '--database-url'], 'rtadmin: option --database-url needs a value (URL) (see: rtadmin app list --help)'],
    [['app', 'list', '--json=yes'], 'rtadmin: option --json takes no value (see: rtadmin app list --help)'],
  ];
  for (const [args, message] of cases) assert.equal(oneErrorLine(expectCode(rtadmin(args, env), 2)), message);
});

test('missing_RT_DATABASE_URL_is_one_clear_line_and_exit_1', () => {
  const r = expectCode(rtadmin(['app', 'list'], { RT_DATABASE_URL: '' }), 1);
  assert.equal(oneErrorLine(r), 'rtadmin: RT_DATABASE_URL is not set (e.g. postgresql://user@host:5432/realtime); set it or pass --database-url');
});

test('unreachable_database_is_one_clear_line_and_exit_1', () => {
  const r = expectCode(rtadmin(['app', 'list'], { RT_DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/realtime' }), 1);
  assert.match(oneErrorLine(r), /^rtadmin: cannot connect to the database: connection to server at "127\.0\.0\.1", port 1 failed: Connection refused .* \(check RT_DATABASE_URL or --database-url\)$/);
});

test('database_url_option_overrides_the_environment', () => {
  const { url } = freshDatabase();
  const r = ok(rtadmin(['--database-url', url, 'app', 'list', '--json'], { RT_DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/x' }));
  assert.deepEqual(r.json(), []);
});

test('database_without_schema_names_the_missing_migration', () => {
  const r = expectCode(rtadmin(['app', 'list'], { RT_DATABASE_URL: PG_URL }), 1);
  assert.equal(oneErrorLine(r), 'rtadmin: database error: relation "apps" does not exist (is the schema missing? run: rtadmin migrate)');
});

test('missing_or_malformed_RT_MASTER_KEY_is_one_clear_line_and_exit_1', () => {
  const { url, run } = freshDatabase();
  const notSet = expectCode(run(['app', 'create', '--name', 'x'], { RT_MASTER_KEY: '' }), 1);
  assert.equal(oneErrorLine(notSet), 'rtadmin: RT_MASTER_KEY is not set: put the key (e.g. from: openssl rand -hex 32) in a file with mode 600 and set RT_MASTER_KEY_FILE or pass --master-key-file PATH');
  for (const bad of ['abc', '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e', 'g'.repeat(64), 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==']) {
    const r = expectCode(run(['app', 'create', '--name', 'x'], { RT_MASTER_KEY: bad }), 1);
    assert.equal(oneErrorLine(r), 'rtadmin: RT_MASTER_KEY must be 64 hex characters or base64 of 32 bytes');
  }
  const noFile = expectCode(run(['key', 'show-secret', 'k', '--master-key-file', '/nonexistent/mk']), 1);
  assert.equal(oneErrorLine(noFile), 'rtadmin: cannot read --master-key-file /nonexistent/mk: No such file or directory');
  // Commands that never touch secrets do not need the master key at all.
  assert.deepEqual(ok(run(['app', 'list', '--json'], { RT_MASTER_KEY: '' })).json(), []);
  void url;
});
