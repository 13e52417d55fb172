<?php

// HTTP errors from rtserver surface as ApiErrorException with the status and body.

declare(strict_types=1);

namespace Realtime\Tests\Live;

use Realtime\ApiErrorException;
use Realtime\ConnectionException;
use Realtime\Pusher;
use Realtime\Tests\Support\Ports;

final class ErrorMappingTest extends LiveTestCase
{
    private function assertApiError(int $status, callable $call): ApiErrorException
    {
        try {
            $call();
        } catch (ApiErrorException $e) {
            $this->assertSame($status, $e->getStatus(), 'body: ' . $e->getBody());
            $this->assertSame($status, $e->getCode());
            $this->assertNotSame('', $e->getBody());
            return $e;
        }
        $this->fail("expected HTTP $status");
    }

    public function testBadSecretIs401(): void
    {
        $app = $this->server->app;
        $pusher = new Pusher($app['key'], 'not-the-secret', $app['id'], $this->server->clientOptions());
        $this->assertApiError(401, fn () => $pusher->trigger('c', 'e', 'x'));
        $this->assertApiError(401, fn () => $pusher->getChannels());
    }

    public function testUnknownKeyIs401(): void
    {
        $app = $this->server->app;
        $pusher = new Pusher('unknownkey1', $app['secret'], $app['id'], $this->server->clientOptions());
        $this->assertApiError(401, fn () => $pusher->getChannels());
    }

    public function testUnknownAppIs404(): void
    {
        $app = $this->server->app;
        $pusher = new Pusher($app['key'], $app['secret'], '987654321', $this->server->clientOptions());
        $this->assertApiError(404, fn () => $pusher->trigger('c', 'e', 'x'));
    }

    public function testOversizedDataIs413WhenTheClientLimitIsRaised(): void
    {
        // The app allows 10 KB; lift the SDK's own check to see the server's answer.
        $pusher = $this->pusher(['max_data_size' => 1 << 20]);
        $this->assertApiError(413, fn () => $pusher->trigger('c', 'e', str_repeat('x', 20000)));
    }

    public function testInvalidChannelIs400WhenSentRaw(): void
    {
        // The SDK refuses bad names itself, so send a hand-made body through post().
        $body = json_encode(['name' => 'e', 'channel' => 'bad channel!', 'data' => 'x']);
        $this->assertApiError(400, fn () => $this->pusher()->post('/events', $body));
    }

    public function testEncryptedWithOtherChannelsIs400WhenSentRaw(): void
    {
        $body = json_encode(['name' => 'e', 'channels' => ['private-encrypted-a', 'b'], 'data' => '{}']);
        $this->assertApiError(400, fn () => $this->pusher()->post('/events', $body));
    }

    public function testClosedPortIsAConnectionException(): void
    {
        $pusher = $this->pusher(['port' => Ports::free(), 'retries' => 1, 'retry_delay_ms' => 10]);
        try {
            $pusher->getChannels();
            $this->fail('expected ConnectionException');
        } catch (ConnectionException $e) {
            $this->assertSame(0, $e->getStatus());
            $this->assertSame(CURLE_COULDNT_CONNECT, $e->getCurlErrno());
        }
    }
}
