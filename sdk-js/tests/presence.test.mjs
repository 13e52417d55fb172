// Live rtserver: presence membership seen from two clients.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLive, nextEvent } from './helpers.mjs';

let live;
before(async () => (live = await startLive()));
after(() => live && live.stop());

const list = (members) => {
  const out = [];
  members.each((m) => out.push(m));
  return out.sort((a, b) => a.id.localeCompare(b.id));
};

test('presence across two clients: members, me, count, added and removed', async () => {
  const ada = live.client('ada');
  const room = ada.subscribe('presence-room');
  const first = await nextEvent(room, 'pusher:subscription_succeeded');
  assert.equal(first, room.members);
  assert.equal(room.members.count, 1);
  assert.deepEqual(room.members.me, { id: 'ada', info: { name: 'User ada' } });

  const added = nextEvent(room, 'pusher:member_added');
  const bob = live.client('bob');
  const bobRoom = bob.subscribe('presence-room');
  await nextEvent(bobRoom, 'pusher:subscription_succeeded');
  assert.deepEqual(await added, { id: 'bob', info: { name: 'User bob' } });

  assert.equal(room.members.count, 2);
  assert.equal(bobRoom.members.count, 2);
  assert.deepEqual(bobRoom.members.me, { id: 'bob', info: { name: 'User bob' } });
  assert.deepEqual(bobRoom.members.get('ada'), { id: 'ada', info: { name: 'User ada' } });
  assert.deepEqual(list(room.members), [
    { id: 'ada', info: { name: 'User ada' } },
    { id: 'bob', info: { name: 'User bob' } },
  ]);

  const removed = nextEvent(room, 'pusher:member_removed');
  bob.disconnect();
  assert.deepEqual(await removed, { id: 'bob', info: { name: 'User bob' } });
  assert.equal(room.members.count, 1);
  assert.equal(room.members.get('bob'), null);
  ada.disconnect();
});

test('a second socket of the same user does not add a member', async () => {
  const ada = live.client('ada');
  const room = ada.subscribe('presence-same-user');
  await nextEvent(room, 'pusher:subscription_succeeded');
  const events = [];
  room.bind('pusher:member_added', (m) => events.push(m));
  const ada2 = live.client('ada');
  const room2 = ada2.subscribe('presence-same-user');
  await nextEvent(room2, 'pusher:subscription_succeeded');
  assert.equal(room2.members.count, 1);
  assert.deepEqual(events, []);
  ada.disconnect();
  ada2.disconnect();
});

test('unsubscribing from presence removes the member for the others', async () => {
  const ada = live.client('ada');
  const cy = live.client('cy');
  const room = ada.subscribe('presence-leave');
  await nextEvent(room, 'pusher:subscription_succeeded');
  const cyRoom = cy.subscribe('presence-leave');
  await nextEvent(cyRoom, 'pusher:subscription_succeeded');
  const removed = nextEvent(room, 'pusher:member_removed');
  cy.unsubscribe('presence-leave');
  assert.equal((await removed).id, 'cy');
  ada.disconnect();
  cy.disconnect();
});
