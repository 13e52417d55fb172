<?php

// Pure signing functions (PROTOCOL.md §6, §14.2, §15): no I/O, no state. Shared test vectors
// in tests/vectors/signing.json pin them to the server's C implementation and sdk-js.

declare(strict_types=1);

namespace Realtime;

/**
 * HMAC-SHA256 signatures for channel authorization, user sign-in, HTTP API requests and
 * webhooks. Every signature is lowercase hex keyed with the app secret.
 */
final class Signer
{
    public const AUTH_VERSION = '1.0';

    private function __construct()
    {
    }

    /**
     * Signature for a private / private-encrypted / presence subscription: HMAC of
     * "{socket_id}:{channel}" or, when $channelData is given (presence, or a private channel
     * with custom data), "{socket_id}:{channel}:{channel_data}". Returns "key:hex".
     */
    public static function channelAuth(
        string $key,
        string $secret,
        string $socketId,
        string $channel,
        ?string $channelData = null
    ): string {
        $toSign = $socketId . ':' . $channel;
        if ($channelData !== null && $channelData !== '') {
            $toSign .= ':' . $channelData;
        }
        return $key . ':' . hash_hmac('sha256', $toSign, $secret);
    }

    /** Signature for `pusher:signin`: HMAC of "{socket_id}::user::{user_data}"; "key:hex". */
    public static function userAuth(string $key, string $secret, string $socketId, string $userData): string
    {
        return $key . ':' . hash_hmac('sha256', $socketId . '::user::' . $userData, $secret);
    }

    /** X-Pusher-Signature of a webhook body: hex HMAC of the raw bytes. */
    public static function webhookSignature(string $secret, string $body): string
    {
        return hash_hmac('sha256', $body, $secret);
    }

    /**
     * Canonical query for signing: keys lowercased, sorted in byte order, values as-is (not
     * escaped), arrays joined with ','; auth_signature is never part of it.
     *
     * @param array<string, scalar|array<scalar>|null> $params
     */
    public static function canonicalQuery(array $params): string
    {
        $normalised = self::normaliseParams($params);
        unset($normalised['auth_signature']);
        ksort($normalised, SORT_STRING);
        $pairs = [];
        foreach ($normalised as $name => $value) {
            $pairs[] = $name . '=' . $value;
        }
        return implode('&', $pairs);
    }

    /** "METHOD\nPATH\nQUERY", the string an HTTP API signature covers. */
    public static function stringToSign(string $method, string $path, array $params): string
    {
        return strtoupper($method) . "\n" . $path . "\n" . self::canonicalQuery($params);
    }

    /**
     * Adds auth_key, auth_timestamp, auth_version, body_md5 (when the body is non-empty) and
     * auth_signature to $params and returns them, ready to be URL-encoded into the query.
     * $path is the API path without any deployment prefix, e.g. "/apps/1/events".
     *
     * @param array<string, scalar|array<scalar>|null> $params non-auth query parameters
     * @return array<string, string>
     */
    public static function signRequest(
        string $key,
        string $secret,
        string $method,
        string $path,
        array $params = [],
        ?string $body = null,
        ?int $timestamp = null
    ): array {
        $signed = self::normaliseParams($params);
        $signed['auth_key'] = $key;
        $signed['auth_timestamp'] = (string) ($timestamp ?? time());
        $signed['auth_version'] = self::AUTH_VERSION;
        if ($body !== null && $body !== '') {
            $signed['body_md5'] = md5($body);
        }
        unset($signed['auth_signature']);
        ksort($signed, SORT_STRING);
        $signed['auth_signature'] = hash_hmac('sha256', self::stringToSign($method, $path, $signed), $secret);
        return $signed;
    }

    /** Constant-time comparison of two hex signatures. */
    public static function equals(string $expected, string $actual): bool
    {
        return hash_equals($expected, $actual);
    }

    /**
     * Lowercases keys and turns every value into the string that is both signed and sent:
     * arrays become comma lists, booleans "1"/"0", null "".
     *
     * @return array<string, string>
     */
    private static function normaliseParams(array $params): array
    {
        $out = [];
        foreach ($params as $name => $value) {
            if (is_array($value)) {
                $value = implode(',', array_map([self::class, 'scalarToString'], $value));
            } else {
                $value = self::scalarToString($value);
            }
            $out[strtolower((string) $name)] = $value;
        }
        return $out;
    }

    private static function scalarToString(mixed $value): string
    {
        if (is_bool($value)) {
            return $value ? '1' : '0';
        }
        if ($value === null) {
            return '';
        }
        if (!is_scalar($value)) {
            throw new ValidationException('Query parameters must be scalars or lists of scalars');
        }
        return (string) $value;
    }
}
