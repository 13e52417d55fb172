// Pure logic: backoff, close-code actions, frame decoding, members, the dispatcher.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay } from '../src/backoff.js';
import { closeAction, decodeMessage, socketUrl } from '../src/protocol.js';
import { Members } from '../src/members.js';
import { Dispatcher } from '../src/events.js';
import { decrypt, decodeKey } from '../src/encryption.js';
import nacl from 'tweetnacl';

test('backoff doubles per attempt, stays within [d/2, d] and is capped', () => {
  assert.equal(backoffDelay(0, 1000, 30000, () => 0), 500);
  assert.equal(backoffDelay(0, 1000, 30000, () => 1), 1000);
  assert.equal(backoffDelay(3, 1000, 30000, () => 1), 8000);
  assert.equal(backoffDelay(20, 1000, 30000, () => 1), 30000);
  assert.equal(backoffDelay(20, 1000, 30000, () => 0), 15000);
});

test('close codes map to the pusher-js actions of PROTOCOL.md §4.2', () => {
  assert.equal(closeAction(4000), 'tls');
  assert.equal(closeAction(4001), 'refused');
  assert.equal(closeAction(4009), 'refused');
  assert.equal(closeAction(4099), 'refused');
  assert.equal(closeAction(4100), 'backoff');
  assert.equal(closeAction(4199), 'backoff');
  assert.equal(closeAction(4200), 'now');
  assert.equal(closeAction(4201), 'now');
  assert.equal(closeAction(1002), 'backoff');
  assert.equal(closeAction(1006), 'retry');
  assert.equal(closeAction(1000), 'retry');
});

test('socket URL carries protocol 7 and the optional path prefix', () => {
  assert.equal(
    socketUrl('k1', { useTLS: false, host: 'h', wsPort: 6001, wssPort: 443, wsPath: '/rt' }),
    'ws://h:6001/rt/app/k1?protocol=7&client=js&version=0.1.0&flash=false',
  );
  assert.match(socketUrl('k1', { useTLS: true, host: 'h', wsPort: 6001, wssPort: 443 }), /^wss:\/\/h:443\/app\/k1\?/);
});

test('decodeMessage parses double-encoded data and keeps plain strings', () => {
  assert.deepEqual(decodeMessage('{"event":"e","channel":"c","data":"{\\"a\\":1}"}'), { event: 'e', channel: 'c', data: { a: 1 } });
  assert.deepEqual(decodeMessage('{"event":"e","data":"hello"}'), { event: 'e', data: 'hello' });
  assert.deepEqual(decodeMessage('{"event":"pusher:error","data":{"code":4001}}').data, { code: 4001 });
  assert.equal(decodeMessage('not json'), null);
  assert.equal(decodeMessage('{"data":1}'), null);
});

test('members count unique users and know which one is me', () => {
  const m = new Members();
  m.setMyID(42);
  m.onSubscription({ count: 2, ids: ['42', '7'], hash: { 42: { name: 'Ada' }, 7: null } });
  assert.equal(m.count, 2);
  assert.deepEqual(m.me, { id: '42', info: { name: 'Ada' } });
  assert.deepEqual(m.addMember({ user_id: '9', user_info: { name: 'Bo' } }), { member: { id: '9', info: { name: 'Bo' } }, added: true });
  assert.equal(m.addMember({ user_id: '9', user_info: {} }).added, false);
  assert.equal(m.count, 3);
  assert.deepEqual(m.removeMember({ user_id: '7' }), { id: '7', info: null });
  assert.equal(m.removeMember({ user_id: '7' }), null);
  const ids = [];
  m.each((member) => ids.push(member.id));
  assert.deepEqual(ids.sort(), ['42', '9']);
  assert.equal(m.get('nobody'), null);
});

test('dispatcher: bind, bind_global, unbind by callback and metadata pass-through', () => {
  const d = new Dispatcher();
  const seen = [];
  const a = (data, meta) => seen.push(['a', data, meta]);
  d.bind('x', a);
  d.bind('x', (data) => seen.push(['b', data]));
  d.bind_global((name, data) => seen.push(['g', name, data]));
  d.emit('x', 1, { user_id: '5' });
  d.unbind('x', a);
  d.emit('x', 2);
  d.unbind();
  d.emit('x', 3);
  assert.deepEqual(seen, [['g', 'x', 1], ['a', 1, { user_id: '5' }], ['b', 1], ['g', 'x', 2], ['b', 2], ['g', 'x', 3]]);
});

test('a throwing listener does not stop the others', async () => {
  const d = new Dispatcher();
  let reached = false;
  const errors = [];
  const saved = globalThis.reportError;
  globalThis.reportError = (err) => errors.push(err.message);
  d.bind('x', () => {
    throw new Error('boom');
  });
  d.bind('x', () => (reached = true));
  d.emit('x');
  globalThis.reportError = saved;
  assert.equal(reached, true);
  assert.deepEqual(errors, ['boom']);
});

test('decrypt opens a secretbox made with the same key and rejects a wrong key', () => {
  const key = nacl.randomBytes(32);
  const nonce = nacl.randomBytes(24);
  const box = nacl.secretbox(new TextEncoder().encode('{"hi":"there"}'), nonce, key);
  const payload = { nonce: Buffer.from(nonce).toString('base64'), ciphertext: Buffer.from(box).toString('base64') };
  assert.equal(decrypt(key, payload), '{"hi":"there"}');
  assert.equal(decrypt(nacl.randomBytes(32), payload), null);
  assert.equal(decrypt(key, { nonce: 'x' }), null);
  assert.equal(decodeKey(Buffer.from(key).toString('base64')).length, 32);
  assert.equal(decodeKey('c2hvcnQ='), null);
});
