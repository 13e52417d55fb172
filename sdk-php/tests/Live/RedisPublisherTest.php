<?php

// RedisPublisher end to end: an entry added to the app's stream is published by a cluster
// rtserver and reaches a real pusher-js client (docs/ingest.md).

declare(strict_types=1);

namespace Realtime\Tests\Live;

use Realtime\RedisPublisher;
use Realtime\Tests\Support\Ports;

final class RedisPublisherTest extends LiveTestCase
{
    /** @var resource|null */
    private $redis = null;
    /** @var resource|null */
    private $node = null;
    private int $nodePort = 0;
    private string $redisUrl = '';

    protected function setUp(): void
    {
        parent::setUp();
        $port = Ports::free();
        $this->redis = proc_open(
            ['redis-server', '--port', (string) $port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']],
            $pipes
        );
        Ports::waitListening($port);
        $this->redisUrl = "redis://127.0.0.1:$port";
        $this->server->admin(['app', 'update', $this->server->app['id'], '--ingest-stream']);
        [$this->nodePort, $this->node] = $this->server->clusterNode($this->redisUrl);
    }

    protected function tearDown(): void
    {
        parent::tearDown();
        foreach ([$this->node, $this->redis] as $process) {
            if (is_resource($process)) {
                proc_terminate($process, SIGKILL);
                proc_close($process);
            }
        }
        $this->server->admin(['app', 'update', $this->server->app['id'], '--no-ingest-stream']);
    }

    public function testAnEntryReachesPusherJsThroughAClusterNode(): void
    {
        $channel = self::unique('orders-');
        $other = self::unique('admin-');
        $sub = $this->server->subscriber(['channels' => [$channel, $other]], $this->nodePort);
        $excluded = $this->server->subscriber(['channels' => [$channel]], $this->nodePort);
        $sub->waitReady();
        $excludedId = $excluded->waitReady();

        $publisher = new RedisPublisher($this->server->app['id'], $this->redisUrl);
        $id = $publisher->trigger([$channel, $other], 'order.shipped', ['id' => 42, 'note' => 'a/b'], ['socket_id' => $excludedId]);
        $this->assertMatchesRegularExpression('/\A\d+-\d+\z/', $id);

        $this->assertSame(['id' => 42, 'note' => 'a/b'], $sub->waitEvent($channel, 'order.shipped', 10.0)['data']);
        $this->assertSame(['id' => 42, 'note' => 'a/b'], $sub->waitEvent($other, 'order.shipped')['data']);
        $publisher->trigger($channel, 'marker', 'end');
        $excluded->waitEvent($channel, 'marker', 10.0);
        $this->assertCount(1, $excluded->eventsOn($channel), 'the excluded socket got only the marker');
        $excluded->close();
        $sub->close();
    }
}
