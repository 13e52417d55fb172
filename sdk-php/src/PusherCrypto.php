<?php

// End-to-end encryption for private-encrypted channels (PROTOCOL.md §11), wire-compatible
// with pusher-php-server's PusherCrypto and pusher-js.

declare(strict_types=1);

namespace Realtime;

/**
 * Derives per-channel keys from the master key and seals payloads with NaCl secretbox
 * (XSalsa20-Poly1305). The server never sees the master key or the plaintext.
 */
class PusherCrypto
{
    public const ENCRYPTED_PREFIX = 'private-encrypted-';

    private string $masterKey;

    /** @param string $masterKey the raw 32-byte master key (see parse_master_key) */
    public function __construct(string $masterKey)
    {
        if (strlen($masterKey) !== SODIUM_CRYPTO_SECRETBOX_KEYBYTES) {
            throw new PusherException('The encryption master key must be 32 bytes long');
        }
        $this->masterKey = $masterKey;
    }

    /**
     * Decodes `encryption_master_key_base64`. Throws on invalid base64 or a key that is not
     * exactly 32 bytes, because a short key would silently weaken every channel key.
     */
    public static function parse_master_key(string $masterKeyBase64): string
    {
        $key = base64_decode($masterKeyBase64, true);
        if ($key === false) {
            throw new PusherException('encryption_master_key_base64 must be valid base64');
        }
        if (strlen($key) !== SODIUM_CRYPTO_SECRETBOX_KEYBYTES) {
            throw new PusherException(
                'encryption_master_key_base64 must decode to 32 bytes, got ' . strlen($key)
            );
        }
        return $key;
    }

    /** True for `private-encrypted-*` channels, including `private-encrypted-cache-*`. */
    public static function is_encrypted_channel(string $channel): bool
    {
        return str_starts_with($channel, self::ENCRYPTED_PREFIX);
    }

    /** Raw 32-byte channel key: SHA256(channel_name || master_key). */
    public function generate_shared_secret(string $channel): string
    {
        return hash('sha256', $channel . $this->masterKey, true);
    }

    /**
     * Encrypts an already JSON-encoded payload for $channel and returns the string to publish
     * as `data`: {"nonce":"<b64>","ciphertext":"<b64>"}. A fresh random nonce is used each time.
     */
    public function encrypt_payload(string $channel, string $payload): string
    {
        $nonce = random_bytes(SODIUM_CRYPTO_SECRETBOX_NONCEBYTES);
        $ciphertext = sodium_crypto_secretbox($payload, $nonce, $this->generate_shared_secret($channel));
        return self::format_encrypted_message($nonce, $ciphertext);
    }

    /**
     * Decrypts a `{"nonce","ciphertext"}` string published on $channel. Returns the plaintext
     * or false when the message is malformed or does not authenticate under this key.
     */
    public function decrypt_payload(string $channel, string $payload): string|false
    {
        $message = json_decode($payload, true);
        if (!is_array($message) || !is_string($message['nonce'] ?? null)
            || !is_string($message['ciphertext'] ?? null)) {
            return false;
        }
        $nonce = base64_decode($message['nonce'], true);
        $ciphertext = base64_decode($message['ciphertext'], true);
        if ($nonce === false || $ciphertext === false
            || strlen($nonce) !== SODIUM_CRYPTO_SECRETBOX_NONCEBYTES) {
            return false;
        }
        return sodium_crypto_secretbox_open($ciphertext, $nonce, $this->generate_shared_secret($channel));
    }

    /**
     * Replaces `data` of a webhook event (object from json_decode) with its plaintext.
     * Returns false when it cannot be decrypted.
     */
    public function decrypt_event(object $event): object|false
    {
        if (!isset($event->channel, $event->data) || !is_string($event->data)) {
            return false;
        }
        $plaintext = $this->decrypt_payload($event->channel, $event->data);
        if ($plaintext === false) {
            return false;
        }
        $event->data = $plaintext;
        return $event;
    }

    /** JSON envelope of an encrypted message, with slashes unescaped like the official SDK. */
    public static function format_encrypted_message(string $nonce, string $ciphertext): string
    {
        return json_encode(
            ['nonce' => base64_encode($nonce), 'ciphertext' => base64_encode($ciphertext)],
            JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES
        );
    }
}
