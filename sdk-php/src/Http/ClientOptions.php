<?php

// Guzzle request options (what Laravel's `client_options` holds, or the config of the Guzzle
// client pusher-php-server takes as its fifth argument) turned into curl settings.

declare(strict_types=1);

namespace Realtime\Http;

use Realtime\PusherException;

/**
 * The subset of Guzzle's request options this SDK honours: verify, proxy, timeout,
 * connect_timeout, headers, cert, ssl_key, crypto_method and curl. They are applied the way
 * Guzzle's curl handler applies them. Other options (handler, middleware, cookies, auth,
 * debug, ...) have no equivalent here and are ignored.
 */
final class ClientOptions
{
    /**
     * @param array<string, mixed> $options Guzzle request options
     */
    private function __construct(private array $options)
    {
    }

    /**
     * Reads the fifth constructor argument: null, an array of Guzzle options, or a Guzzle
     * client (its getConfig(), which includes Guzzle's defaults: User-Agent and the
     * HTTP_PROXY / HTTPS_PROXY / NO_PROXY environment). Any other object has no readable
     * options and is ignored.
     */
    public static function from(mixed $client): self
    {
        if (is_array($client)) {
            return new self($client);
        }
        if (is_object($client) && method_exists($client, 'getConfig')) {
            $config = $client->getConfig();
            return new self(is_array($config) ? $config : []);
        }
        return new self([]);
    }

    /** Guzzle's `timeout` in seconds, or null when not set (0 means none in Guzzle). */
    public function timeout(): ?float
    {
        return self::seconds($this->options['timeout'] ?? null, 'timeout');
    }

    public function connectTimeout(): ?float
    {
        return self::seconds($this->options['connect_timeout'] ?? null, 'connect_timeout');
    }

    /**
     * The `headers` option as "Name: value" lines, leaving out the names in $ours (the SDK's
     * own request headers win, as per-request headers do in Guzzle).
     *
     * @param string[] $ours header names, any case
     * @return string[]
     */
    public function headerLines(array $ours): array
    {
        $headers = $this->options['headers'] ?? [];
        if (!is_array($headers)) {
            throw new PusherException('The headers client option must be an array of name => value');
        }
        $ours = array_map('strtolower', $ours);
        $lines = [];
        foreach ($headers as $name => $value) {
            $name = (string) $name;
            if (in_array(strtolower($name), $ours, true) || preg_match('/[\r\n:]/', $name)) {
                continue;
            }
            $value = is_array($value) ? implode(', ', $value) : (string) $value;
            $lines[] = $name . ': ' . str_replace(["\r", "\n"], ' ', $value);
        }
        return $lines;
    }

    /** True when the `headers` option sets $name (any case). */
    public function hasHeader(string $name): bool
    {
        foreach (array_keys((array) ($this->options['headers'] ?? [])) as $key) {
            if (strcasecmp((string) $key, $name) === 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * CURLOPT_* values for verify, proxy, cert, ssl_key, crypto_method and curl, for requests
     * to $scheme://$host.
     *
     * @return array<int, mixed>
     */
    public function curlOptions(string $scheme, string $host): array
    {
        $curl = [];
        $o = $this->options;
        if (isset($o['verify'])) {
            if ($o['verify'] === false) {
                $curl[CURLOPT_SSL_VERIFYPEER] = false;
                $curl[CURLOPT_SSL_VERIFYHOST] = 0;
            } else {
                $curl[CURLOPT_SSL_VERIFYPEER] = true;
                $curl[CURLOPT_SSL_VERIFYHOST] = 2;
                if (is_string($o['verify'])) {
                    if (!file_exists($o['verify'])) {
                        throw new PusherException("SSL CA bundle not found: {$o['verify']}");
                    }
                    $curl[is_dir($o['verify']) ? CURLOPT_CAPATH : CURLOPT_CAINFO] = $o['verify'];
                }
            }
        }
        $proxy = self::proxyFor($o['proxy'] ?? null, $scheme, $host);
        if ($proxy !== null) {
            $curl[CURLOPT_PROXY] = $proxy;
        }
        if (isset($o['cert'])) {
            $cert = $o['cert'];
            if (is_array($cert)) {
                $curl[CURLOPT_SSLCERTPASSWD] = (string) ($cert[1] ?? '');
                $cert = $cert[0] ?? '';
            }
            if (!file_exists((string) $cert)) {
                throw new PusherException("SSL certificate not found: $cert");
            }
            $extension = strtoupper(pathinfo((string) $cert, PATHINFO_EXTENSION));
            if ($extension === 'DER' || $extension === 'P12') {
                $curl[CURLOPT_SSLCERTTYPE] = $extension;
            }
            $curl[CURLOPT_SSLCERT] = $cert;
        }
        if (isset($o['ssl_key'])) {
            $key = $o['ssl_key'];
            if (is_array($key)) {
                if (isset($key[1])) {
                    $curl[CURLOPT_SSLKEYPASSWD] = (string) $key[1];
                }
                $key = $key[0] ?? '';
            }
            if (!file_exists((string) $key)) {
                throw new PusherException("SSL private key not found: $key");
            }
            $curl[CURLOPT_SSLKEY] = $key;
        }
        if (isset($o['crypto_method'])) {
            $curl[CURLOPT_SSLVERSION] = self::sslVersion((int) $o['crypto_method']);
        }
        if (isset($o['curl'])) {
            if (!is_array($o['curl'])) {
                throw new PusherException('The curl client option must be an array of CURLOPT_* => value');
            }
            $curl = $o['curl'] + $curl;
        }
        return $curl;
    }

    /**
     * The proxy for $scheme://$host: a string applies to everything; an array picks by
     * scheme and skips hosts matched by its `no` list (exact, or a domain suffix; `*` matches
     * all), like Guzzle.
     */
    private static function proxyFor(mixed $proxy, string $scheme, string $host): ?string
    {
        if ($proxy === null || $proxy === '' || $proxy === []) {
            return null;
        }
        if (!is_array($proxy)) {
            return (string) $proxy;
        }
        if (!isset($proxy[$scheme]) || $proxy[$scheme] === '') {
            return null;
        }
        foreach ((array) ($proxy['no'] ?? []) as $area) {
            $area = (string) $area;
            if ($area === '*' || $area === $host) {
                return null;
            }
            if ($area !== '' && str_ends_with($host, '.' . ltrim($area, '.'))) {
                return null;
            }
        }
        return (string) $proxy[$scheme];
    }

    /** STREAM_CRYPTO_METHOD_TLSv1_x_CLIENT => the matching minimum CURL_SSLVERSION_TLSv1_x. */
    private static function sslVersion(int $method): int
    {
        return match ($method) {
            STREAM_CRYPTO_METHOD_TLSv1_0_CLIENT => CURL_SSLVERSION_TLSv1_0,
            STREAM_CRYPTO_METHOD_TLSv1_1_CLIENT => CURL_SSLVERSION_TLSv1_1,
            STREAM_CRYPTO_METHOD_TLSv1_2_CLIENT => CURL_SSLVERSION_TLSv1_2,
            STREAM_CRYPTO_METHOD_TLSv1_3_CLIENT => CURL_SSLVERSION_TLSv1_3,
            default => throw new PusherException(
                'Invalid crypto_method: use one of the STREAM_CRYPTO_METHOD_TLSv1_*_CLIENT constants'
            ),
        };
    }

    private static function seconds(mixed $value, string $name): ?float
    {
        if ($value === null) {
            return null;
        }
        if (!is_numeric($value) || (float) $value < 0) {
            throw new PusherException("The $name client option must be a number of seconds");
        }
        return (float) $value;
    }
}
