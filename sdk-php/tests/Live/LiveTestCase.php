<?php

// Base of the live suite: a shared rtserver (Support/LiveServer) and pusher-js subscribers
// that are closed after each test.

declare(strict_types=1);

namespace Realtime\Tests\Live;

use PHPUnit\Framework\TestCase;
use Realtime\Pusher;
use Realtime\Tests\Support\LiveServer;
use Realtime\Tests\Support\Subscriber;

abstract class LiveTestCase extends TestCase
{
    protected LiveServer $server;
    /** @var Subscriber[] */
    private array $subscribers = [];

    protected function setUp(): void
    {
        $server = LiveServer::get();
        if ($server === null) {
            $this->markTestSkipped('Live server unavailable: ' . LiveServer::reason());
        }
        $this->server = $server;
    }

    protected function tearDown(): void
    {
        foreach ($this->subscribers as $subscriber) {
            $subscriber->close();
        }
        $this->subscribers = [];
    }

    protected function pusher(array $options = []): Pusher
    {
        return $this->server->pusher($options);
    }

    /** A connected pusher-js client subscribed to $channels (and signed in with $user). */
    protected function subscribe(array $channels, ?array $user = null, ?array $presence = null): Subscriber
    {
        $spec = ['channels' => $channels];
        if ($user !== null) {
            $spec['user'] = $user;
        }
        if ($presence !== null) {
            $spec['presence'] = $presence;
        }
        $subscriber = $this->server->subscriber($spec);
        $this->subscribers[] = $subscriber;
        $subscriber->waitReady();
        return $subscriber;
    }

    /** A channel name no other test uses. */
    protected static function unique(string $prefix): string
    {
        return $prefix . bin2hex(random_bytes(4));
    }
}
