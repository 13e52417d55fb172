<?php

// Limits pusher-php-server leaves to the server (data size, name lengths, batch size) are
// checked before sending here, and raise an ApiErrorException with the status the server would
// answer, so Laravel's PusherBroadcaster (`catch (ApiErrorException $e)`, rethrown as a
// BroadcastException) handles them as it handles the server's own 413/400.

declare(strict_types=1);

namespace Realtime\Tests\Unit;

use PHPUnit\Framework\TestCase;
use Realtime\ApiErrorException;
use Realtime\LimitExceededException;
use Realtime\Pusher;
use Realtime\Tests\Support\RecordingApi;

final class LimitErrorTest extends TestCase
{
    private static ?RecordingApi $api = null;

    public static function setUpBeforeClass(): void
    {
        self::$api = new RecordingApi();
    }

    public static function tearDownAfterClass(): void
    {
        self::$api?->stop();
        self::$api = null;
    }

    /** What PusherBroadcaster::broadcast() does around trigger(). */
    private function broadcast(callable $call): ApiErrorException
    {
        try {
            $call(new Pusher('key12345', 'secret', '1', ['host' => '127.0.0.1', 'port' => self::$api->port]));
        } catch (ApiErrorException $e) {
            $this->assertSame([], self::$api->take(), 'nothing was sent');
            return $e;
        }
        $this->fail('expected an ApiErrorException');
    }

    public function testOversizedDataIsAnApiError413(): void
    {
        $e = $this->broadcast(fn (Pusher $p) => $p->trigger('c', 'e', str_repeat('x', 10239)));
        $this->assertInstanceOf(LimitExceededException::class, $e);
        $this->assertSame(413, $e->getStatus());
        $this->assertSame(413, $e->getCode());
        $this->assertSame('Event data is 10241 bytes, the limit is 10240 bytes (option max_data_size)', $e->getMessage());
    }

    public function testOversizedBatchDataIsAnApiError413(): void
    {
        $e = $this->broadcast(fn (Pusher $p) => $p->triggerBatch([['channel' => 'c', 'name' => 'e', 'data' => str_repeat('x', 20000)]]));
        $this->assertSame(413, $e->getStatus());
    }

    public function testTooLongEventNameIsAnApiError400(): void
    {
        $e = $this->broadcast(fn (Pusher $p) => $p->trigger('c', str_repeat('e', 201), 'x'));
        $this->assertInstanceOf(LimitExceededException::class, $e);
        $this->assertSame(400, $e->getStatus());
    }

    public function testTooLongChannelNameIsAnApiError400(): void
    {
        $e = $this->broadcast(fn (Pusher $p) => $p->trigger(str_repeat('c', 201), 'e', 'x'));
        $this->assertSame(400, $e->getStatus());
    }

    public function testTooManyBatchEventsIsAnApiError400(): void
    {
        $batch = array_fill(0, 11, ['channel' => 'c', 'name' => 'e', 'data' => 'x']);
        $e = $this->broadcast(fn (Pusher $p) => $p->triggerBatch($batch));
        $this->assertSame(400, $e->getStatus());
        $this->assertSame('A batch can hold at most 10 events, got 11 (option max_batch_size)', $e->getMessage());
    }

    public function testAsyncTriggerRaisesTheSameError(): void
    {
        $e = $this->broadcast(fn (Pusher $p) => $p->triggerAsync('c', 'e', str_repeat('x', 20000))->wait());
        $this->assertSame(413, $e->getStatus());
    }
}
