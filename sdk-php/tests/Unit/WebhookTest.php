<?php

// Receiving webhooks (PROTOCOL.md §15): key + HMAC check, decoding, decryption.

declare(strict_types=1);

namespace Realtime\Tests\Unit;

use PHPUnit\Framework\TestCase;
use Realtime\Pusher;
use Realtime\PusherCrypto;
use Realtime\PusherException;
use Realtime\Tests\Support\MemoryLogger;
use Realtime\Webhook;

final class WebhookTest extends TestCase
{
    private const KEY = 'key12345';
    private const SECRET = 'webhook-secret';
    private const MASTER_KEY_B64 = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';

    private function pusher(array $options = []): Pusher
    {
        return new Pusher(self::KEY, self::SECRET, '1', $options);
    }

    private static function headers(string $body, string $key = self::KEY, string $secret = self::SECRET): array
    {
        return ['X-Pusher-Key' => $key, 'X-Pusher-Signature' => hash_hmac('sha256', $body, $secret)];
    }

    public function testValidWebhookIsDecoded(): void
    {
        $body = '{"time_ms":1700000000123,"events":[{"name":"channel_occupied","channel":"a"},'
            . '{"name":"member_added","channel":"presence-b","user_id":"7"}]}';
        $webhook = $this->pusher()->webhook(self::headers($body), $body);
        $this->assertInstanceOf(Webhook::class, $webhook);
        $this->assertSame(1700000000123, $webhook->get_time_ms());
        $this->assertCount(2, $webhook->get_events());
        $this->assertSame('member_added', $webhook->getEvents()[1]->name);
        $this->assertSame('7', $webhook->getEvents()[1]->user_id);
    }

    public function testTheRequestIdComesFromItsHeaderAndIsNullWithoutIt(): void
    {
        $body = '{"time_ms":1,"events":[]}';
        $headers = self::headers($body) + ['x-realtime-webhook-id' => ['4812736:1764100000000-0']];
        $this->assertSame('4812736:1764100000000-0', $this->pusher()->webhook($headers, $body)->get_id());
        $this->assertSame('4812736:1764100000000-0', $this->pusher()->webhook($headers, $body)->getId());
        $this->assertNull($this->pusher()->webhook(self::headers($body), $body)->get_id());
    }

    public function testHeadersAreMatchedCaseInsensitivelyAndMayBeLists(): void
    {
        $body = '{"time_ms":1,"events":[]}';
        $headers = [
            'x-pusher-key' => [self::KEY],
            'x-pusher-signature' => [hash_hmac('sha256', $body, self::SECRET)],
        ];
        $this->pusher()->verifySignature($headers, $body);
        $this->addToAssertionCount(1);
    }

    public function testTamperedBodyIsRejected(): void
    {
        $body = '{"time_ms":1,"events":[]}';
        $this->expectException(PusherException::class);
        $this->expectExceptionMessage('invalid key or signature');
        $this->pusher()->webhook(self::headers($body), '{"time_ms":2,"events":[]}');
    }

    public function testSignatureWithAnotherSecretIsRejected(): void
    {
        $body = '{"time_ms":1,"events":[]}';
        $this->expectException(PusherException::class);
        $this->pusher()->verifySignature(self::headers($body, self::KEY, 'other'), $body);
    }

    public function testUnknownKeyIsRejected(): void
    {
        $body = '{"time_ms":1,"events":[]}';
        $this->expectException(PusherException::class);
        $this->pusher()->verifySignature(self::headers($body, 'otherkey1'), $body);
    }

    public function testMissingHeadersAreRejected(): void
    {
        $this->expectException(PusherException::class);
        $this->pusher()->verifySignature([], '{}');
    }

    public function testBodyWithoutEventsIsRejected(): void
    {
        $body = '{"time_ms":1}';
        $this->expectExceptionMessage('no "events" list');
        $this->pusher()->webhook(self::headers($body), $body);
    }

    public function testEncryptedClientEventIsDecrypted(): void
    {
        $crypto = new PusherCrypto(PusherCrypto::parse_master_key(self::MASTER_KEY_B64));
        $body = json_encode(['time_ms' => 5, 'events' => [[
            'name' => 'client_event', 'channel' => 'private-encrypted-x', 'event' => 'client-e',
            'data' => $crypto->encrypt_payload('private-encrypted-x', '{"secret":1}'), 'socket_id' => '1.2',
        ]]]);
        $webhook = $this->pusher(['encryption_master_key_base64' => self::MASTER_KEY_B64])->webhook(self::headers($body), $body);
        $this->assertSame('{"secret":1}', $webhook->get_events()[0]->data);
    }

    public function testUndecryptableOrKeylessEncryptedEventsAreDroppedWithAWarning(): void
    {
        $crypto = new PusherCrypto(str_repeat("\x09", 32));
        $body = json_encode(['time_ms' => 5, 'events' => [
            ['name' => 'client_event', 'channel' => 'private-encrypted-x', 'data' => $crypto->encrypt_payload('private-encrypted-x', '1')],
            ['name' => 'channel_vacated', 'channel' => 'private-encrypted-x'],
        ]]);
        foreach ([['encryption_master_key_base64' => self::MASTER_KEY_B64], []] as $options) {
            $logger = new MemoryLogger();
            $pusher = $this->pusher($options);
            $pusher->setLogger($logger);
            $events = $pusher->webhook(self::headers($body), $body)->get_events();
            $this->assertCount(1, $events, 'only the event without data survives');
            $this->assertSame('channel_vacated', $events[0]->name);
            $this->assertSame('warning', $logger->records[0]['level']);
        }
    }
}
