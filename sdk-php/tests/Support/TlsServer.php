<?php

// tests/fixtures/tls_api.php on a free loopback port, with a fresh self-signed certificate for
// IP 127.0.0.1 (made with PHP's openssl extension).

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
        self::makeCertificate($this->dir, $this->certFile, $keyFile);
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

    /** A self-signed CA certificate whose subjectAltName is IP 127.0.0.1, and its key. */
    private static function makeCertificate(string $dir, string $certFile, string $keyFile): void
    {
        $config = $dir . '/openssl.cnf';
        file_put_contents($config, "[req]\ndistinguished_name = dn\n[dn]\n[san]\nsubjectAltName = IP:127.0.0.1\nbasicConstraints = CA:TRUE\n");
        $options = ['config' => $config, 'digest_alg' => 'sha256'];
        $key = openssl_pkey_new($options + ['private_key_bits' => 2048, 'private_key_type' => OPENSSL_KEYTYPE_RSA]);
        $csr = $key === false ? false : openssl_csr_new(['commonName' => '127.0.0.1'], $key, $options);
        $cert = $csr === false ? false : openssl_csr_sign($csr, null, $key, 1, $options + ['x509_extensions' => 'san'], random_int(1, PHP_INT_MAX));
        if ($cert === false || !openssl_x509_export_to_file($cert, $certFile) || !openssl_pkey_export_to_file($key, $keyFile, null, $options)) {
            throw new \RuntimeException('Cannot make a test certificate: ' . openssl_error_string());
        }
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
