// rtadmin token: connection tokens (HS256 JWTs) checked with Node's crypto, not with rtadmin's
// own code: the signature, the header and the claims a server will verify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { psql } from '../harness/index.mjs';
import { freshDatabase, ok, expectCode, auditRows, oneErrorLine } from './cli-helpers.mjs';

const b64json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

/** Splits a token and checks its HS256 signature with secret; returns {header, claims}. */
function verify(token, secret) {
  const [h, p, sig] = token.split('.');
  assert.equal(sig, createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url'), 'HS256 signature');
  return { header: b64json(h), claims: b64json(p) };
}

test('token_prints_an_hs256_jwt_on_its_last_line_signed_with_the_newest_key', () => {
  const { run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  const before = Math.floor(Date.now() / 1000);
  const r = ok(run(['token', app.id, '--user', 'u42']));
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[0], new RegExp(`^Connection token for user u42 of app ${app.id} \\(kid ${app.key}\\), valid until \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ:$`));
  const { header, claims } = verify(lines[1], app.secret);
  assert.deepEqual(header, { alg: 'HS256', typ: 'JWT', kid: app.key });
  assert.deepEqual(Object.keys(claims), ['sub', 'aud', 'iat', 'exp']);
  assert.equal(claims.sub, 'u42');
  assert.equal(claims.aud, app.id);
  assert.ok(claims.iat >= before && claims.iat <= before + 2);
  assert.equal(claims.exp - claims.iat, 300);
});

test('token_carries_channels_user_info_and_ttl', () => {
  const { run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  const out = ok(run(['token', app.id, '--user', 'ada', '--channels', 'private-a, presence-room-*,,',
    '--ttl', '86400', '--user-info', '{"name": "Ada"}', '--json'])).json();
  assert.deepEqual(Object.keys(out), ['app_id', 'kid', 'user', 'expires_at', 'token']);
  const { claims } = verify(out.token, app.secret);
  assert.deepEqual(claims.channels, ['private-a', 'presence-room-*']);
  assert.deepEqual(claims.user_info, { name: 'Ada' });
  assert.equal(claims.exp - claims.iat, 86400);
  assert.equal(out.expires_at, claims.exp);
  assert.equal(out.kid, app.key);
});

test('token_uses_the_newest_active_key_or_the_one_named_by_key', () => {
  const { run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  const newer = ok(run(['key', 'create', app.id, '--json'])).json();
  const t1 = ok(run(['token', app.id, '--user', 'u', '--json'])).json();
  assert.equal(verify(t1.token, newer.secret).header.kid, newer.key);
  const t2 = ok(run(['token', app.id, '--user', 'u', '--key', app.key, '--json'])).json();
  assert.equal(verify(t2.token, app.secret).header.kid, app.key);
  ok(run(['key', 'revoke', newer.key]));
  const t3 = ok(run(['token', app.id, '--user', 'u', '--json'])).json();
  assert.equal(verify(t3.token, app.secret).header.kid, app.key);
  const r = expectCode(run(['token', app.id, '--user', 'u', '--key', newer.key]), 1);
  assert.equal(oneErrorLine(r), `rtadmin: ${newer.key} is not an active key of app ${app.id}`);
});

test('token_issuing_is_audited_without_the_token', () => {
  const { url, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  const out = ok(run(['token', app.id, '--user', 'ada', '--channels', 'private-a', '--actor', 'alice', '--json'])).json();
  ok(run(['token', app.id, '--user', 'bob', '--ttl', '60']));
  assert.deepEqual(auditRows(url, "action = 'token.issue'"), [
    { actor: 'alice', action: 'token.issue', app_id: app.id, details: { key: app.key, user: 'ada', channels: ['private-a'], ttl: 300 } },
    { actor: 'tester', action: 'token.issue', app_id: app.id, details: { key: app.key, user: 'bob', ttl: 60 } },
  ]);
  assert.equal(psql(url, `SELECT count(*) FROM audit_log WHERE details::text LIKE '%${out.token.split('.')[2]}%'`), '0');
});

test('token_usage_errors_exit_2', () => {
  const { url, run } = freshDatabase();
  const app = ok(run(['app', 'create', '--name', 'chat', '--max-presence-info-bytes', '64', '--json'])).json();
  const help = ' (see: rtadmin token --help)';
  const cases = [
    [[], 'rtadmin: token needs --user ID' + help],
    [['--user', 'a b'], 'rtadmin: --user: Token sub must be a user id: 1-128 characters [A-Za-z0-9_-=@,.;]' + help],
    [['--user', 'u', '--channels', 'private-a,public'],
      'rtadmin: --channels: Token channels[1] must be a private-, presence- or private-encrypted- channel name (with * as a wildcard)' + help],
    [['--user', 'u', '--user-info', '[1]'], `rtadmin: --user-info must be a JSON object, e.g. '{"name":"Ada"}'` + help],
    [['--user', 'u', '--user-info', `{"n":"${'x'.repeat(60)}"}`], 'rtadmin: --user-info: Token user_info is larger than 64 bytes' + help],
    [['--user', 'u', '--ttl', '0'], "rtadmin: --ttl must be a whole number of seconds from 1 to 86400, not '0'" + help],
    [['--user', 'u', '--ttl', '86401'], "rtadmin: --ttl must be a whole number of seconds from 1 to 86400, not '86401'" + help],
    [['--user', 'u', '--ttl', '5m'], "rtadmin: --ttl must be a whole number of seconds from 1 to 86400, not '5m'" + help],
  ];
  for (const [args, message] of cases) assert.equal(oneErrorLine(expectCode(run(['token', app.id, ...args]), 2)), message);
  assert.equal(psql(url, "SELECT count(*) FROM audit_log WHERE action = 'token.issue'"), '0');
});

test('token_for_an_unknown_app_or_one_without_active_keys_exits_1', () => {
  const { run } = freshDatabase();
  assert.equal(oneErrorLine(expectCode(run(['token', '999', '--user', 'u']), 1)), "rtadmin: no app with id '999' (see: rtadmin app list)");
  const app = ok(run(['app', 'create', '--name', 'chat', '--json'])).json();
  ok(run(['key', 'revoke', app.key]));
  assert.equal(oneErrorLine(expectCode(run(['token', app.id, '--user', 'u']), 1)),
    `rtadmin: app ${app.id} has no active key (create one with: rtadmin key create ${app.id})`);
});
