<?php

// End-to-end encryption round trip: PHP encrypts, rtserver relays ciphertext, pusher-js
// decrypts with the shared_secret our authorizeChannel() handed it.

declare(strict_types=1);

namespace Realtime\Tests\Live;

use Realtime\ValidationException;

final class EncryptedChannelTest extends LiveTestCase
{
    public function testEncryptedTriggerIsDecryptedByPusherJs(): void
    {
        $channel = self::unique('private-encrypted-vault-');
        $sub = $this->subscribe([$channel]);
        $payload = ['card' => '4111 1111', 'amount' => 42.5, 'tags' => ['a', 'b']];
        $this->pusher()->trigger($channel, 'payment', $payload);
        $this->assertSame($payload, $sub->waitEvent($channel, 'payment')['data']);
    }

    public function testEncryptedBatchEventIsDecryptedByPusherJs(): void
    {
        $channel = self::unique('private-encrypted-batch-');
        $sub = $this->subscribe([$channel]);
        $this->pusher()->triggerBatch([['channel' => $channel, 'name' => 'sealed', 'data' => ['ok' => true]]]);
        $this->assertSame(['ok' => true], $sub->waitEvent($channel, 'sealed')['data']);
    }

    public function testServerOnlySeesCiphertext(): void
    {
        // Encryption happens in PHP: nothing the server logs can contain the plaintext.
        $channel = self::unique('private-encrypted-peek-');
        $this->subscribe([$channel]);
        $this->pusher()->trigger($channel, 'e', ['secret' => 'swordfish']);
        $this->assertStringNotContainsString('swordfish', $this->server->logs());
    }

    public function testMixingEncryptedAndPlainChannelsIsRefusedBeforeSending(): void
    {
        $this->expectException(ValidationException::class);
        $this->pusher()->trigger([self::unique('private-encrypted-'), 'public'], 'e', 'x');
    }
}
