<?php

// A `php -S` process on a free loopback port running a router script (fake API, webhook
// receiver). Stopped by stop() or when the object is destroyed.

declare(strict_types=1);

namespace Realtime\Tests\Support;

final class PhpServer
{
    /** @var resource */
    private $process;
    public readonly int $port;

    /** @param array<string, string> $env extra environment for the router */
    public function __construct(string $router, array $env = [])
    {
        $this->port = Ports::free();
        $command = [PHP_BINARY, '-S', '127.0.0.1:' . $this->port, $router];
        $log = sys_get_temp_dir() . '/sdk-php-phpserver-' . $this->port . '.log';
        $process = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => ['file', $log, 'w'], 2 => ['file', $log, 'a']], $pipes, null, $env + getenv());
        if (!is_resource($process)) {
            throw new \RuntimeException('Cannot start php -S');
        }
        $this->process = $process;
        Ports::waitListening($this->port);
    }

    public function url(): string
    {
        return 'http://127.0.0.1:' . $this->port;
    }

    public function stop(): void
    {
        if (is_resource($this->process)) {
            proc_terminate($this->process);
            proc_close($this->process);
        }
    }

    public function __destruct()
    {
        $this->stop();
    }
}
