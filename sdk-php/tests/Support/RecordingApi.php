<?php

// A `php -S` endpoint (tests/fixtures/recording_api.php) that records every request it gets,
// used both as a server and as an HTTP proxy.

declare(strict_types=1);

namespace Realtime\Tests\Support;

final class RecordingApi
{
    private PhpServer $server;
    private string $file;
    public readonly int $port;

    public function __construct()
    {
        $this->file = tempnam(sys_get_temp_dir(), 'sdk-php-recording-');
        $this->server = new PhpServer(__DIR__ . '/../fixtures/recording_api.php', ['RECORD_FILE' => $this->file]);
        $this->port = $this->server->port;
    }

    /** Returns the requests recorded since the last call and forgets them. */
    public function take(): array
    {
        $lines = file($this->file, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) ?: [];
        file_put_contents($this->file, '');
        return array_map(static fn (string $l) => json_decode($l, true, 512, JSON_THROW_ON_ERROR), $lines);
    }

    public function stop(): void
    {
        $this->server->stop();
        @unlink($this->file);
    }
}
