<?php

// tests/fixtures/tls_api.php on a free loopback port, with a fresh self-signed certificate for
// IP 127.0.0.1 (made with the openssl command).

declare(strict_types=1);

namespace Realtime\Tests\Support;

final class TlsServer
{
    /** @var resource */
    private $process;
    public readonly int $port;
    public readonly string $certFile;
    private string $dir;

    public function __construct()
    {
        $this->dir = sys_get_temp_dir() . '/sdk-php-tls-' . getmypid() . '-' . bin2hex(random_bytes(4));
        mkdir($this->dir);
        $this->certFile = $this->dir . '/cert.pem';
        $keyFile = $this->dir . '/key.pem';
        exec(sprintf(
            'openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s 2>&1',
            escapeshellarg($keyFile),
            escapeshellarg($this->certFile)
        ), $output, $status);
        if ($status !== 0) {
            throw new \RuntimeException("openssl req failed:\n" . implode("\n", $output));
        }
        $this->port = Ports::free();
        $process = proc_open(
            [PHP_BINARY, __DIR__ . '/../fixtures/tls_api.php', (string) $this->port, $this->certFile, $keyFile],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', $this->dir . '/stderr', 'w']],
            $pipes
        );
        if (!is_resource($process)) {
            throw new \RuntimeException('Cannot start tls_api.php');
        }
        $this->process = $process;
        Ports::waitListening($this->port);
    }

    public function stop(): void
    {
        if (is_resource($this->process)) {
            proc_terminate($this->process);
            proc_close($this->process);
        }
        array_map('unlink', glob($this->dir . '/*') ?: []);
        @rmdir($this->dir);
    }

    public function __destruct()
    {
        $this->stop();
    }
}
