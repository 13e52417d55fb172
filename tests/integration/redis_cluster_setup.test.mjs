// The private Redis Cluster of redis_cluster_helpers.mjs does what the Redis Cluster suites
// rely on: 3 masters share all 16384 slots, masterOf(key) names the node that accepts the key
// (the others answer MOVED), and a killed master's replica takes over with the cluster ok
// again on every node. A node brought back with restart() rejoins as a replica.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RedisCluster, redisCommand } from './redis_cluster_helpers.mjs';

let cluster;

before(async () => {
  cluster = await new RedisCluster({ masters: 3, replicas: 1 }).start();
});

after(async () => {
  await cluster?.stop();
});

test('three masters with one replica each cover all 16384 slots', async () => {
  const masters = cluster.nodes.filter((n) => n.role === 'master');
  assert.equal(masters.length, 3);
  assert.equal(cluster.nodes.filter((n) => n.role === 'replica').length, 3);
  const slots = await redisCommand(masters[0].port, 'CLUSTER', 'SLOTS');
  const owners = new Set(slots.map(([, , [, port]]) => port));
  assert.deepEqual([...owners].sort(), masters.map((n) => n.port).sort());
  assert.equal(slots.reduce((sum, [lo, hi]) => sum + hi - lo + 1, 0), 16384);
  const replicaPorts = cluster.nodes.filter((n) => n.role === 'replica').map((n) => n.port);
  const replicaOf = [];
  for (const m of masters) {
    const info = await redisCommand(m.port, 'INFO', 'replication');
    assert.match(info, /\r\nconnected_slaves:1\r\n/);
    replicaOf.push(Number(/\r\nslave0:ip=127\.0\.0\.1,port=(\d+),state=online/.exec(info)[1]));
  }
  assert.deepEqual(replicaOf.sort(), replicaPorts.sort());
  assert.equal(cluster.url, `redis://${masters.map((n) => `127.0.0.1:${n.port}`).join(',')}`);
});

test('the master masterOf names accepts the key and every other master answers MOVED', async () => {
  const key = 'rt:{app1}:c:x';
  const port = await cluster.masterOf(key);
  assert.equal(await redisCommand(port, 'SET', key, 'v'), 'OK');
  assert.equal(await redisCommand(port, 'GET', key), 'v');
  for (const other of cluster.nodes.filter((n) => n.role === 'master' && n.port !== port)) {
    await assert.rejects(redisCommand(other.port, 'GET', key), { message: `MOVED 6469 127.0.0.1:${port}` });
  }
});

test('masterOf follows the slot ranges: 0-5460, 5461-10921, 10922-16383 on masters 0, 1, 2', async () => {
  const [m0, m1, m2] = cluster.nodes.slice(0, 3).map((n) => n.port);
  assert.equal(await cluster.masterOf('hello'), m0); // slot 866
  assert.equal(await cluster.masterOf('bar'), m0); // 5061
  assert.equal(await cluster.masterOf('app1'), m1); // 6469
  assert.equal(await cluster.masterOf('foo{}{bar}'), m1); // 8363
  assert.equal(await cluster.masterOf('foo'), m2); // 12182
  assert.equal(await cluster.masterOf('a'), m2); // 15495
});

test('a killed master is replaced by its replica and the cluster is ok again on every node', async () => {
  const key = 'rt:{app2}:c:y';
  const old = await cluster.masterOf(key);
  assert.equal(await redisCommand(old, 'SET', key, 'before'), 'OK');
  await redisCommand(old, 'WAIT', 1, 2000); // the replica has it before the crash
  const started = Date.now();
  await cluster.killMaster(old);
  await cluster.waitHealthy(15000);
  console.log(`failover took ${Date.now() - started} ms`);
  const promoted = await cluster.masterOf(key);
  assert.notEqual(promoted, old);
  assert.equal(cluster.nodes.find((n) => n.port === promoted).role, 'master');
  assert.equal(await redisCommand(promoted, 'GET', key), 'before');
  for (const n of cluster.nodes.filter((x) => x.alive)) {
    assert.match(await redisCommand(n.port, 'CLUSTER', 'INFO'), /^cluster_state:ok\r\n/);
  }
});

test('a killed master restarted comes back empty as a replica of the promoted one', async () => {
  const dead = cluster.nodes.find((n) => !n.alive);
  await cluster.restart(dead.port);
  assert.equal(dead.role, 'replica');
  const promoted = await cluster.masterOf('rt:{app2}:c:y');
  const replication = await redisCommand(dead.port, 'INFO', 'replication');
  assert.match(replication, new RegExp(`\r\nmaster_port:${promoted}\r\n`));
  assert.match(replication, /\r\nmaster_link_status:up\r\n/);
});
