<?php

// Runs the same SDK calls through pusher-php-server and through this SDK (each in its own
// process, tests/fixtures/sdk_driver.php) against a recording HTTP endpoint, and returns
// what each sent and returned, for side-by-side comparison.

declare(strict_types=1);

namespace Realtime\Tests\Support;

final class OfficialSdk
{
    public const KEY = 'parity-key';
    public const SECRET = 'parity-secret';
    public const APP_ID = '4242';
    public const TIMESTAMP = 1700000000;

    /**
     * Why the official SDK cannot run here, or null when it can. It needs a checkout of
     * pusher/pusher-php-server (RT_PUSHER_PHP_SERVER_DIR, default ../shared/peers/pusher-php-server beside the repository) and
     * Guzzle 7 + psr/log on the include path (Debian: php-guzzlehttp-guzzle, php-psr-log).
     */
    public static function unavailableReason(): ?string
    {
        if (!is_file(self::dir() . '/src/Pusher.php')) {
            return 'pusher-php-server not found in ' . self::dir() . ' (set RT_PUSHER_PHP_SERVER_DIR)';
        }
        foreach (['GuzzleHttp/autoload.php', 'Psr/Log/autoload.php'] as $file) {
            if (stream_resolve_include_path($file) === false) {
                return "$file is not on the include path (Debian packages php-guzzlehttp-guzzle, php-psr-log)";
            }
        }
        return null;
    }

    public static function dir(): string
    {
        // The repository's sibling shared/ directory (sdk-php/tests/Support -> repo -> ..).
        return getenv('RT_PUSHER_PHP_SERVER_DIR')
            ?: dirname(__DIR__, 4) . '/shared/peers/pusher-php-server';
    }

    /**
     * @param 'official'|'realtime' $sdk
     * @param array<int, array<int, mixed>> $calls [method, ...args]; 'settings' reads
     *        [scheme, host, port]; promises are waited on
     * @param array{kind: string, options: array}|null $client the fifth constructor argument
     * @return list<array<string, mixed>> one {value} or {error} per call
     */
    public static function run(string $sdk, array $options, array $calls, ?array $client = null): array
    {
        $spec = [
            'sdk' => $sdk,
            'official_dir' => self::dir(),
            'key' => self::KEY,
            'secret' => self::SECRET,
            'app_id' => self::APP_ID,
            'options' => $options,
            'client' => $client,
            'timestamp' => self::TIMESTAMP,
            'calls' => $calls,
        ];
        $process = proc_open(
            // Debian's Guzzle 7.4 predates PHP 8.2 and emits deprecation notices of its own.
            [PHP_BINARY, '-d', 'error_reporting=' . ($sdk === 'official' ? E_ALL & ~E_DEPRECATED : E_ALL),
             __DIR__ . '/../fixtures/sdk_driver.php'],
            [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']],
            $pipes
        );
        fwrite($pipes[0], json_encode($spec, JSON_THROW_ON_ERROR));
        fclose($pipes[0]);
        $stdout = stream_get_contents($pipes[1]);
        $stderr = stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        $status = proc_close($process);
        $results = json_decode((string) $stdout, true);
        if ($status !== 0 || !is_array($results) || $stderr !== '') {
            throw new \RuntimeException("sdk_driver ($sdk) failed with status $status:\n$stdout\n$stderr");
        }
        return $results;
    }
}
