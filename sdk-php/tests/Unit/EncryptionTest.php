<?php

// Private-encrypted channels (PROTOCOL.md §11): secretbox under SHA256(channel || master key).

declare(strict_types=1);

namespace Realtime\Tests\Unit;

use PHPUnit\Framework\TestCase;
use Realtime\Pusher;
use Realtime\PusherCrypto;
use Realtime\PusherException;
use Realtime\Tests\Support\PhpServer;

final class EncryptionTest extends TestCase
{
    private const MASTER_KEY_B64 = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';

    public function testPayloadOpensWithTheChannelSharedSecret(): void
    {
        $crypto = new PusherCrypto(PusherCrypto::parse_master_key(self::MASTER_KEY_B64));
        $message = json_decode($crypto->encrypt_payload('private-encrypted-x', '{"a":1}'), true);
        $this->assertSame(['nonce', 'ciphertext'], array_keys($message));
        $nonce = base64_decode($message['nonce'], true);
        $this->assertSame(24, strlen($nonce));
        $key = hash('sha256', 'private-encrypted-x' . base64_decode(self::MASTER_KEY_B64), true);
        $this->assertSame('{"a":1}', sodium_crypto_secretbox_open(base64_decode($message['ciphertext']), $nonce, $key));
    }

    public function testEveryMessageUsesAFreshNonce(): void
    {
        $crypto = new PusherCrypto(PusherCrypto::parse_master_key(self::MASTER_KEY_B64));
        $a = json_decode($crypto->encrypt_payload('private-encrypted-x', 'same'))->nonce;
        $b = json_decode($crypto->encrypt_payload('private-encrypted-x', 'same'))->nonce;
        $this->assertNotSame($a, $b);
    }

    public function testDecryptRoundTripsAndFailsOnAnotherChannel(): void
    {
        $crypto = new PusherCrypto(PusherCrypto::parse_master_key(self::MASTER_KEY_B64));
        $sealed = $crypto->encrypt_payload('private-encrypted-a', 'hello');
        $this->assertSame('hello', $crypto->decrypt_payload('private-encrypted-a', $sealed));
        $this->assertFalse($crypto->decrypt_payload('private-encrypted-b', $sealed));
        $this->assertFalse($crypto->decrypt_payload('private-encrypted-a', '{"nonce":"AA==","ciphertext":"AA=="}'));
        $this->assertFalse($crypto->decrypt_payload('private-encrypted-a', 'not json'));
    }

    public function testMasterKeyMustBe32BytesOfBase64(): void
    {
        $this->expectException(PusherException::class);
        $this->expectExceptionMessage('must decode to 32 bytes, got 16');
        new Pusher('key12345', 'secret', '1', ['encryption_master_key_base64' => base64_encode(str_repeat('k', 16))]);
    }

    public function testMasterKeyMustBeValidBase64(): void
    {
        $this->expectExceptionMessage('must be valid base64');
        new Pusher('key12345', 'secret', '1', ['encryption_master_key_base64' => '***']);
    }

    public function testEncryptedPrefixIncludesCacheVariant(): void
    {
        $this->assertTrue(PusherCrypto::is_encrypted_channel('private-encrypted-cache-x'));
        $this->assertFalse(PusherCrypto::is_encrypted_channel('private-x'));
        $this->assertFalse(PusherCrypto::is_encrypted_channel('private-encryptedx'));
    }

    public function testAuthorizeChannelReturnsSharedSecretOnlyForEncryptedChannels(): void
    {
        $pusher = new Pusher('key12345', 'secret', '1', ['encryption_master_key_base64' => self::MASTER_KEY_B64]);
        $encrypted = json_decode($pusher->authorizeChannel('private-encrypted-x', '1.2'), true);
        $this->assertSame('6WW+JhQkrDHUfm5BytoU8ryaUq0zo82MTvUPheddo/Y=', $encrypted['shared_secret']);
        $plain = json_decode($pusher->authorizeChannel('private-x', '1.2'), true);
        $this->assertArrayNotHasKey('shared_secret', $plain);
    }

    public function testTriggerSendsCiphertextThatDecryptsToTheJsonPayload(): void
    {
        $api = new PhpServer(__DIR__ . '/../fixtures/fake_api.php');
        $pusher = new Pusher('fakekey123', 'fakesecret456', '1', [
            'host' => '127.0.0.1', 'port' => $api->port, 'scheme' => 'http',
            'encryption_master_key_base64' => self::MASTER_KEY_B64,
        ]);
        $echo = $pusher->trigger('private-encrypted-x', 'secret-event', ['card' => '4111']);
        $sent = json_decode($echo->body);
        $this->assertSame('private-encrypted-x', $sent->channel);
        $this->assertStringNotContainsString('4111', $echo->body);
        $crypto = new PusherCrypto(PusherCrypto::parse_master_key(self::MASTER_KEY_B64));
        $this->assertSame('{"card":"4111"}', $crypto->decrypt_payload('private-encrypted-x', $sent->data));

        $batchEcho = $pusher->triggerBatch([['channel' => 'private-encrypted-y', 'name' => 'e', 'data' => 'plain text']]);
        $entry = json_decode($batchEcho->body)->batch[0];
        // String data is JSON-encoded in batches too (pusher-php-server 7.1+).
        $this->assertSame('"plain text"', $crypto->decrypt_payload('private-encrypted-y', $entry->data));
        $api->stop();
    }
}
