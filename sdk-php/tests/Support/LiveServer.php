<?php

// Test bootstrap for the live suite: a fresh database, one app created with rtadmin, a
// webhook receiver, and one rtserver on a free loopback port, shared by every live test and
// torn down at exit. Mirrors tests/harness/index.mjs.

declare(strict_types=1);

namespace Realtime\Tests\Support;

use Realtime\Pusher;

final class LiveServer
{
    /** Test-only master key for rtadmin/rtserver (64 hex chars). */
    public const MASTER_KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';

    /** End-to-end key for private-encrypted channels (SDK side; the server never sees it). */
    public const E2E_MASTER_KEY_B64 = 'ZW5kLXRvLWVuZCBrZXkgZm9yIHRoZSBQSFAgdGVzdHM=';

    private static ?self $instance = null;
    private static ?string $unavailable = null;

    public readonly string $sourceDir;
    public readonly string $buildDir;
    public readonly int $port;
    /** @var array{id: string, key: string, secret: string} */
    public readonly array $app;
    public readonly string $webhookLog;

    private string $pgUrl;
    private string $dbName;
    private string $dbUrl;
    /** @var resource|null */
    private $server = null;
    private string $serverLog;
    private ?PhpServer $webhookReceiver = null;

    /**
     * The shared live server, started on first use. Returns null (with reason()) when the
     * binaries are not built, so tests can be skipped rather than fail.
     */
    public static function get(): ?self
    {
        if (self::$instance === null && self::$unavailable === null) {
            $sourceDir = getenv('RT_SOURCE_DIR') ?: dirname(__DIR__, 3);
            $buildDir = getenv('RT_BUILD_DIR') ?: $sourceDir . '/build';
            foreach (['rtserver', 'rtadmin'] as $binary) {
                if (!is_executable("$buildDir/$binary")) {
                    self::$unavailable = "$buildDir/$binary is not built";
                    return null;
                }
            }
            self::$instance = new self($sourceDir, $buildDir);
            register_shutdown_function([self::$instance, 'shutdown']);
        }
        return self::$instance;
    }

    public static function reason(): string
    {
        return self::$unavailable ?? '';
    }

    private function __construct(string $sourceDir, string $buildDir)
    {
        $this->sourceDir = $sourceDir;
        $this->buildDir = $buildDir;
        $this->pgUrl = $this->postgresUrl();
        $this->dbName = 'rt_t_' . bin2hex(random_bytes(6));
        self::psql($this->pgUrl, "CREATE DATABASE {$this->dbName}");
        $this->dbUrl = (string) preg_replace('#/[^/?]*(\?.*)?$#', '/' . $this->dbName, $this->pgUrl);

        $this->rtadmin(['migrate']);
        $this->app = json_decode(
            $this->rtadmin(['app', 'create', '--name', 'php', '--client-events', '--user-auth', '--json']),
            true,
            512,
            JSON_THROW_ON_ERROR
        );

        // Webhooks go to a PHP receiver that verifies them with the SDK.
        $this->webhookLog = tempnam(sys_get_temp_dir(), 'sdk-php-webhooks-');
        $this->webhookReceiver = new PhpServer(__DIR__ . '/../fixtures/webhook_receiver.php', $this->clientEnv() + [
            'RT_WEBHOOK_LOG' => $this->webhookLog,
        ]);
        self::psql($this->dbUrl, sprintf(
            "INSERT INTO app_webhooks (app_id, url) VALUES ('%s', '%s/webhooks')",
            $this->app['id'],
            $this->webhookReceiver->url()
        ));

        $this->port = Ports::free();
        $this->serverLog = tempnam(sys_get_temp_dir(), 'sdk-php-rtserver-');
        $env = [
            'PATH' => getenv('PATH') ?: '/usr/bin:/bin',
            'RT_DATABASE_URL' => $this->dbUrl,
            'RT_MASTER_KEY' => self::MASTER_KEY,
            'RT_HOST' => '127.0.0.1',
            'RT_PORT' => (string) $this->port,
            'RT_LOG_LEVEL' => 'info',
        ];
        $this->server = proc_open(
            ["$buildDir/rtserver"],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', $this->serverLog, 'w'], 2 => ['file', $this->serverLog, 'a']],
            $pipes,
            null,
            $env
        );
        $this->waitReady();
    }

    /** A client for the test app, with the E2E key; $options override. */
    public function pusher(array $options = []): Pusher
    {
        return new Pusher($this->app['key'], $this->app['secret'], $this->app['id'], $options + $this->clientOptions());
    }

    /** Options pointing the SDK at this server. */
    public function clientOptions(): array
    {
        return [
            'host' => '127.0.0.1',
            'port' => $this->port,
            'scheme' => 'http',
            'useTLS' => false,
            'timeout' => 10,
            'encryption_master_key_base64' => self::E2E_MASTER_KEY_B64,
        ];
    }

    /** Environment for helper processes (subscriber.mjs, authorize.php, examples). */
    public function clientEnv(): array
    {
        return [
            'RT_SOURCE_DIR' => $this->sourceDir,
            'RT_WS_HOST' => '127.0.0.1',
            'RT_WS_PORT' => (string) ($this->port ?? 0),
            'RT_HOST' => '127.0.0.1',
            'RT_PORT' => (string) ($this->port ?? 0),
            'RT_APP_ID' => $this->app['id'],
            'RT_APP_KEY' => $this->app['key'],
            'RT_APP_SECRET' => $this->app['secret'],
            'RT_E2E_MASTER_KEY_B64' => self::E2E_MASTER_KEY_B64,
            'PHP_BINARY' => PHP_BINARY,
            'PATH' => getenv('PATH') ?: '/usr/bin:/bin',
        ];
    }

    /** Starts a pusher-js subscriber (see tests/subscriber.mjs); $port: another node's. */
    public function subscriber(array $spec, ?int $port = null): Subscriber
    {
        $env = $this->clientEnv();
        if ($port !== null) {
            $env['RT_WS_PORT'] = $env['RT_PORT'] = (string) $port;
        }
        return new Subscriber(__DIR__ . '/../subscriber.mjs', $spec, $env);
    }

    /** Runs rtadmin on the test database (e.g. to change the test app's settings). */
    public function admin(array $args): string
    {
        return $this->rtadmin($args);
    }

    /**
     * Starts another rtserver on the test database in cluster mode on $redisUrl (for the
     * Redis inlets); returns [port, process]. The caller stops it with proc_terminate.
     *
     * @return array{0: int, 1: resource}
     */
    public function clusterNode(string $redisUrl): array
    {
        $port = Ports::free();
        $env = [
            'PATH' => getenv('PATH') ?: '/usr/bin:/bin',
            'RT_DATABASE_URL' => $this->dbUrl,
            'RT_REDIS_URL' => $redisUrl,
            'RT_MASTER_KEY' => self::MASTER_KEY,
            'RT_HOST' => '127.0.0.1',
            'RT_PORT' => (string) $port,
            'RT_LOG_LEVEL' => 'warn',
        ];
        $process = proc_open(
            ["{$this->buildDir}/rtserver"],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']],
            $pipes,
            null,
            $env
        );
        $deadline = microtime(true) + 15;
        while (microtime(true) < $deadline) {
            $ch = curl_init("http://127.0.0.1:$port/ready");
            curl_setopt_array($ch, [CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT_MS => 500]);
            curl_exec($ch);
            $code = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
            curl_close($ch);
            if ($code === 200) {
                return [$port, $process];
            }
            usleep(50000);
        }
        proc_terminate($process, SIGKILL);
        throw new \RuntimeException('the cluster rtserver did not become ready');
    }

    /** Webhook deliveries received so far, each {"ok", "time_ms", "events"} or {"ok":false}. */
    public function webhooks(): array
    {
        $lines = array_filter(explode("\n", (string) file_get_contents($this->webhookLog)));
        return array_map(static fn (string $l) => json_decode($l, true), array_values($lines));
    }

    /** The server's output so far, for failure messages. */
    public function logs(): string
    {
        return (string) @file_get_contents($this->serverLog);
    }

    public function shutdown(): void
    {
        if (is_resource($this->server)) {
            proc_terminate($this->server, SIGTERM);
            $deadline = microtime(true) + 5;
            while (proc_get_status($this->server)['running'] && microtime(true) < $deadline) {
                usleep(20000);
            }
            if (proc_get_status($this->server)['running']) {
                proc_terminate($this->server, SIGKILL);
            }
            proc_close($this->server);
            $this->server = null;
        }
        $this->webhookReceiver?->stop();
        try {
            self::psql($this->pgUrl, "DROP DATABASE IF EXISTS {$this->dbName} WITH (FORCE)");
        } catch (\Throwable) {
            // Leaving a test database behind is harmless.
        }
        @unlink($this->webhookLog);
        @unlink($this->serverLog);
    }

    private function waitReady(): void
    {
        $deadline = microtime(true) + 15;
        while (microtime(true) < $deadline) {
            $status = proc_get_status($this->server);
            if (!$status['running']) {
                throw new \RuntimeException("rtserver exited early ({$status['exitcode']}):\n" . $this->logs());
            }
            $ch = curl_init("http://127.0.0.1:{$this->port}/ready");
            curl_setopt_array($ch, [CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT_MS => 500]);
            curl_exec($ch);
            $code = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
            curl_close($ch);
            if ($code === 200) {
                return;
            }
            usleep(50000);
        }
        throw new \RuntimeException("rtserver did not become ready:\n" . $this->logs());
    }

    /** RT_TEST_PG_URL, else run/services.env, starting the services if needed. */
    private function postgresUrl(): string
    {
        $url = getenv('RT_TEST_PG_URL') ?: $this->servicesEnv()['RT_TEST_PG_URL'] ?? null;
        if ($url === null) {
            exec(escapeshellarg($this->sourceDir . '/scripts/services') . ' up 2>&1', $output, $code);
            if ($code !== 0) {
                throw new \RuntimeException("scripts/services up failed:\n" . implode("\n", $output));
            }
            $url = $this->servicesEnv()['RT_TEST_PG_URL'] ?? null;
        }
        if ($url === null) {
            throw new \RuntimeException('RT_TEST_PG_URL is not set and run/services.env has none');
        }
        return $url;
    }

    private function servicesEnv(): array
    {
        $runDir = getenv('RT_RUN_DIR') ?: $this->sourceDir . '/run';
        $env = [];
        foreach (@file("$runDir/services.env", FILE_IGNORE_NEW_LINES) ?: [] as $line) {
            if (preg_match('/^export (\w+)=(.*)$/', $line, $m)) {
                $env[$m[1]] = trim($m[2], "'\"");
            }
        }
        return $env;
    }

    /** Runs rtadmin against the test database; returns stdout or throws with stderr. */
    private function rtadmin(array $args): string
    {
        $env = [
            'PATH' => getenv('PATH') ?: '/usr/bin:/bin',
            'HOME' => getenv('HOME') ?: '/root',
            'USER' => 'tester',
            'RT_MASTER_KEY' => self::MASTER_KEY,
            'RT_DATABASE_URL' => $this->dbUrl,
        ];
        return self::run(array_merge(["{$this->buildDir}/rtadmin"], $args), $env, 'rtadmin ' . $args[0]);
    }

    private static function psql(string $url, string $sql): string
    {
        return self::run(['psql', $url, '-qAtX', '-v', 'ON_ERROR_STOP=1', '-c', $sql], null, 'psql');
    }

    private static function run(array $command, ?array $env, string $what): string
    {
        $process = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env);
        $stdout = stream_get_contents($pipes[1]);
        $stderr = stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        $code = proc_close($process);
        if ($code !== 0) {
            throw new \RuntimeException("$what failed ($code): $stderr");
        }
        return trim($stdout);
    }
}
