<?php

// Publishing through rtserver, verified by what a real pusher-js client receives.

declare(strict_types=1);

namespace Realtime\Tests\Live;

use Realtime\Promise;

final class PublishTest extends LiveTestCase
{
    public function testTriggerOnPublicChannelIsDeliveredToPusherJs(): void
    {
        $channel = self::unique('orders-');
        $sub = $this->subscribe([$channel]);
        $result = $this->pusher()->trigger($channel, 'order.shipped', ['id' => 1, 'note' => 'a/b']);
        $this->assertEquals(new \stdClass(), $result);
        $this->assertSame(['id' => 1, 'note' => 'a/b'], $sub->waitEvent($channel, 'order.shipped')['data']);
    }

    public function testTriggerOnSeveralChannelsReachesEach(): void
    {
        $a = self::unique('a-');
        $b = self::unique('private-b-');
        $sub = $this->subscribe([$a, $b]);
        $this->pusher()->trigger([$a, $b], 'fanout', 'hello');
        $this->assertSame('hello', $sub->waitEvent($a, 'fanout')['data']);
        $this->assertSame('hello', $sub->waitEvent($b, 'fanout')['data']);
    }

    public function testSocketIdExcludesThatConnectionOnly(): void
    {
        $channel = self::unique('chat-');
        $sender = $this->subscribe([$channel]);
        $other = $this->subscribe([$channel]);
        $this->pusher()->trigger($channel, 'msg', ['n' => 1], ['socket_id' => $sender->socketId()]);
        $this->assertSame(['n' => 1], $other->waitEvent($channel, 'msg')['data']);
        $this->pusher()->trigger($channel, 'marker', 'end');
        $sender->waitEvent($channel, 'marker');
        $this->assertCount(1, $sender->eventsOn($channel), 'the excluded socket got only the marker');
    }

    public function testAlreadyEncodedDataIsDeliveredAsIs(): void
    {
        $channel = self::unique('raw-');
        $sub = $this->subscribe([$channel]);
        $this->pusher()->trigger($channel, 'raw', '{"pre":"encoded"}', [], true);
        $this->assertSame(['pre' => 'encoded'], $sub->waitEvent($channel, 'raw')['data']);
    }

    public function testTriggerWithInfoReturnsChannelCountsAsArray(): void
    {
        $channel = self::unique('presence-room-');
        $this->subscribe([$channel], null, ['user_id' => 'u1', 'user_info' => ['name' => 'Ada']]);
        $result = $this->pusher()->trigger($channel, 'e', 'x', ['info' => 'user_count']);
        $this->assertIsArray($result->channels);
        $this->assertSame(1, $result->channels[$channel]->user_count);
    }

    public function testTriggerBatchDeliversEveryEvent(): void
    {
        $a = self::unique('batch-a-');
        $b = self::unique('private-batch-b-');
        $sub = $this->subscribe([$a, $b]);
        $result = $this->pusher()->triggerBatch([
            ['channel' => $a, 'name' => 'first', 'data' => ['n' => 1]],
            ['channel' => $b, 'name' => 'second', 'data' => 'two'],
        ]);
        $this->assertEquals(new \stdClass(), $result);
        $this->assertSame(['n' => 1], $sub->waitEvent($a, 'first')['data']);
        $this->assertSame('two', $sub->waitEvent($b, 'second')['data']);
    }

    public function testTriggerAsyncAndTriggerBatchAsyncDeliver(): void
    {
        $channel = self::unique('async-');
        $sub = $this->subscribe([$channel]);
        $pusher = $this->pusher();
        $promises = [
            $pusher->triggerAsync($channel, 'async-one', 1),
            $pusher->triggerBatchAsync([['channel' => $channel, 'name' => 'async-two', 'data' => ['two' => 2]]]),
        ];
        foreach ($promises as $promise) {
            $this->assertInstanceOf(Promise::class, $promise);
            $this->assertEquals(new \stdClass(), $promise->wait());
        }
        $this->assertSame(1, $sub->waitEvent($channel, 'async-one')['data']);
        $this->assertSame(['two' => 2], $sub->waitEvent($channel, 'async-two')['data']);
    }

    public function testPostIsTheRawTriggerCall(): void
    {
        $channel = self::unique('raw-post-');
        $sub = $this->subscribe([$channel]);
        $body = json_encode(['name' => 'via-post', 'channel' => $channel, 'data' => '"x"']);
        $this->assertEquals(new \stdClass(), $this->pusher()->post('/events', $body));
        $this->assertSame('x', $sub->waitEvent($channel, 'via-post')['data']);
    }

    public function testKeepAliveReusesTheConnection(): void
    {
        $logger = new \Realtime\Tests\Support\MemoryLogger();
        $pusher = $this->pusher();
        $pusher->setLogger($logger);
        $pusher->getChannels();
        $pusher->trigger(self::unique('ka-'), 'e', 'x');
        $pusher->getChannels();
        $connects = array_map(
            static fn (array $r) => $r['context']['new_connections'],
            array_values(array_filter($logger->records, static fn ($r) => isset($r['context']['new_connections'])))
        );
        $this->assertSame([1, 0, 0], $connects, 'only the first request opened a TCP connection');
    }
}
