<?php

// rtserver's webhooks, received and verified by a PHP backend using the SDK's webhook().

declare(strict_types=1);

namespace Realtime\Tests\Live;

final class WebhookTest extends LiveTestCase
{
    /** Waits for a verified delivery containing an event matching $match. */
    private function waitWebhookEvent(callable $match, float $seconds = 10.0): array
    {
        $deadline = microtime(true) + $seconds;
        do {
            foreach ($this->server->webhooks() as $delivery) {
                foreach ($delivery['events'] ?? [] as $event) {
                    if ($match($event)) {
                        return $delivery;
                    }
                }
            }
            usleep(50000);
        } while (microtime(true) < $deadline);
        $this->fail('No matching webhook; received: ' . json_encode($this->server->webhooks()));
    }

    public function testChannelOccupiedWebhookVerifies(): void
    {
        $channel = self::unique('hooked-');
        $this->subscribe([$channel]);
        $delivery = $this->waitWebhookEvent(
            static fn (array $e) => $e['name'] === 'channel_occupied' && $e['channel'] === $channel
        );
        $this->assertTrue($delivery['ok']);
        $this->assertMatchesRegularExpression('/^m-[0-9a-f]{32}$/', $delivery['id']);
        $this->assertSame('application/json', $delivery['content_type']);
        $this->assertEqualsWithDelta(microtime(true) * 1000, $delivery['time_ms'], 60000);
    }

    public function testMemberAddedWebhookVerifies(): void
    {
        $channel = self::unique('presence-hooked-');
        $this->subscribe([$channel], null, ['user_id' => 'hook-user']);
        $delivery = $this->waitWebhookEvent(
            static fn (array $e) => $e['name'] === 'member_added' && $e['channel'] === $channel
        );
        $this->assertTrue($delivery['ok']);
    }

    public function testNoDeliveryFailedVerification(): void
    {
        $channel = self::unique('hooked-check-');
        $this->subscribe([$channel]);
        $this->waitWebhookEvent(static fn (array $e) => ($e['channel'] ?? '') === $channel);
        $failed = array_filter($this->server->webhooks(), static fn (array $d) => !$d['ok']);
        $this->assertSame([], $failed);
    }
}
