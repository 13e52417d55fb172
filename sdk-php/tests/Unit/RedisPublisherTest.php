<?php

// RedisPublisher against a private redis-server: the entries it writes are read back with
// XRANGE, exactly as the servers' consumer group sees them (docs/ingest.md "The stream").

declare(strict_types=1);

namespace Realtime\Tests\Unit;

use PHPUnit\Framework\TestCase;
use Realtime\ConnectionException;
use Realtime\LimitExceededException;
use Realtime\PusherException;
use Realtime\RedisPublisher;
use Realtime\Tests\Support\Ports;
use Realtime\ValidationException;

final class RedisPublisherTest extends TestCase
{
    /** @var array<int, resource> */
    private static array $servers = [];
    private static int $port = 0;
    private static int $passwordPort = 0;

    public static function setUpBeforeClass(): void
    {
        self::$port = self::startRedis([]);
        self::$passwordPort = self::startRedis(['--requirepass', 's3cret pass']);
    }

    public static function tearDownAfterClass(): void
    {
        foreach (self::$servers as $proc) {
            proc_terminate($proc, 9);
            proc_close($proc);
        }
        self::$servers = [];
    }

    /** @param list<string> $extra */
    private static function startRedis(array $extra): int
    {
        $port = Ports::free();
        $cmd = array_merge(['redis-server', '--port', (string) $port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], $extra);
        $proc = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
        if (!is_resource($proc)) {
            self::markTestSkipped('redis-server cannot be started');
        }
        self::$servers[] = $proc;
        Ports::waitListening($port);
        return $port;
    }

    /** Runs one command on a fresh connection of redis-cli's own (an independent reader). */
    private static function redis(string ...$args): string
    {
        $cmd = array_merge(['redis-cli', '-p', (string) self::$port, '--raw'], $args);
        $proc = proc_open($cmd, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        $out = stream_get_contents($pipes[1]);
        proc_close($proc);
        return trim((string) $out);
    }

    /** Fields of every entry of the stream, in order. @return list<array<string, string>> */
    private static function entries(string $key): array
    {
        $lines = explode("\n", self::redis('XRANGE', $key, '-', '+'));
        $entries = [];
        $current = null;
        $fields = [];
        foreach ($lines as $line) {
            if (preg_match('/\A\d+-\d+\z/', $line)) {
                if ($current !== null) {
                    $entries[] = self::pairs($fields);
                }
                $current = $line;
                $fields = [];
            } elseif ($current !== null) {
                $fields[] = $line;
            }
        }
        if ($current !== null) {
            $entries[] = self::pairs($fields);
        }
        return $entries;
    }

    /** @param list<string> $fields */
    private static function pairs(array $fields): array
    {
        $out = [];
        for ($i = 0; $i + 1 < count($fields); $i += 2) {
            $out[$fields[$i]] = $fields[$i + 1];
        }
        return $out;
    }

    private static function appId(): string
    {
        return (string) random_int(1000000, 9999999);
    }

    public function testTriggerAddsOneEntryWithTheJsonDataAndReturnsItsId(): void
    {
        $app = self::appId();
        $publisher = new RedisPublisher($app, 'redis://127.0.0.1:' . self::$port);
        $id = $publisher->trigger('orders', 'order-shipped', ['id' => 42, 'url' => 'https://x/y']);
        $this->assertMatchesRegularExpression('/\A\d+-\d+\z/', $id);
        $this->assertSame("rt:ingest:{{$app}}", $publisher->stream());
        $this->assertSame(
            [['name' => 'order-shipped', 'data' => '{"id":42,"url":"https:\/\/x\/y"}', 'channel' => 'orders']],
            self::entries("rt:ingest:{{$app}}")
        );
    }

    public function testSeveralChannelsGoAsAJsonArrayWithTheSocketToExclude(): void
    {
        $app = self::appId();
        $publisher = new RedisPublisher($app, 'redis://127.0.0.1:' . self::$port);
        $publisher->trigger(['orders', 'admin'], 'e', 'plain text', ['socket_id' => '123.456'], true);
        $this->assertSame(
            [['name' => 'e', 'data' => 'plain text', 'channels' => '["orders","admin"]', 'socket_id' => '123.456']],
            self::entries("rt:ingest:{{$app}}")
        );
    }

    public function testMaxLengthTrimsTheStreamOnEveryAdd(): void
    {
        $app = self::appId();
        $publisher = new RedisPublisher($app, 'redis://127.0.0.1:' . self::$port, ['max_length' => 10]);
        for ($i = 0; $i < 500; $i++) {
            $publisher->trigger('orders', 'n', $i);
        }
        // MAXLEN ~ trims whole nodes of 100 entries
        $this->assertLessThanOrEqual(110, (int) self::redis('XLEN', "rt:ingest:{{$app}}"));
    }

    public function testOneConnectionServesManyTriggers(): void
    {
        $app = self::appId();
        $publisher = new RedisPublisher($app, 'redis://127.0.0.1:' . self::$port);
        $before = self::connectionsReceived();
        for ($i = 0; $i < 20; $i++) {
            $publisher->trigger('orders', 'n', $i);
        }
        // the publisher's one connection, and the redis-cli that asks
        $this->assertSame(2, self::connectionsReceived() - $before);
        $this->assertSame('20', self::redis('XLEN', "rt:ingest:{{$app}}"));
    }

    /** Connections Redis accepted so far, counting the redis-cli that asks. */
    private static function connectionsReceived(): int
    {
        preg_match('/total_connections_received:(\d+)/', self::redis('INFO', 'stats'), $m);
        return (int) $m[1];
    }

    public function testThePasswordOfTheUrlIsSentWithAuth(): void
    {
        $app = self::appId();
        $publisher = new RedisPublisher($app, 'redis://:s3cret%20pass@127.0.0.1:' . self::$passwordPort);
        $this->assertMatchesRegularExpression('/\A\d+-\d+\z/', $publisher->trigger('orders', 'e', 1));

        $wrong = new RedisPublisher($app, 'redis://:wrong@127.0.0.1:' . self::$passwordPort);
        try {
            $wrong->trigger('orders', 'e', 1);
            $this->fail('a wrong password was accepted');
        } catch (ConnectionException $e) {
            $this->assertStringStartsWith('Redis refused the credentials of the URL: Redis: WRONGPASS', $e->getMessage());
            $this->assertStringNotContainsString('wrong', substr($e->getMessage(), 0, 40));
        }
    }

    public function testARedisThatIsNotThereIsAConnectionException(): void
    {
        $port = Ports::free();
        $publisher = new RedisPublisher('1', "redis://127.0.0.1:$port", ['timeout' => 1]);
        $this->expectException(ConnectionException::class);
        $this->expectExceptionMessage("Cannot connect to Redis at 127.0.0.1:$port");
        $publisher->trigger('orders', 'e', 1);
    }

    public function testInputIsCheckedBeforeAnythingIsSent(): void
    {
        // a closed port: any attempt to send would be a ConnectionException
        $publisher = new RedisPublisher('1', 'redis://127.0.0.1:' . Ports::free(), ['max_data_size' => 16, 'max_channels_per_trigger' => 2]);
        $cases = [
            [fn () => $publisher->trigger('bad channel', 'e', 1), ValidationException::class, 'Invalid channel name "bad channel": only A-Z a-z 0-9 _ - = @ , . ; are allowed'],
            [fn () => $publisher->trigger(['a', 'b', 'c'], 'e', 1), ValidationException::class, 'An event can be triggered on at most 2 channels in one call, got 3'],
            [fn () => $publisher->trigger('a', '', 1), ValidationException::class, 'Invalid event name: it is empty'],
            [fn () => $publisher->trigger('a', 'e', str_repeat('x', 20)), LimitExceededException::class, 'Event data is 22 bytes, the limit is 16 bytes (option max_data_size)'],
            [fn () => $publisher->trigger('a', 'e', 1, ['socket_id' => 'abc']), ValidationException::class, 'Invalid socket ID "abc": expected digits.digits'],
            [fn () => $publisher->trigger('private-encrypted-x', 'e', 1), PusherException::class, 'Encrypted channels need the encryption_master_key_base64 option'],
            [fn () => $publisher->trigger('a', 'e', [1], [], true), ValidationException::class, 'With $already_encoded the data must be a string'],
        ];
        foreach ($cases as [$call, $class, $message]) {
            try {
                $call();
                $this->fail("accepted: $message");
            } catch (ConnectionException $e) {
                $this->fail("sent before checking ($message): " . $e->getMessage());
            } catch (PusherException $e) {
                $this->assertInstanceOf($class, $e);
                $this->assertStringStartsWith($message, $e->getMessage());
            }
        }
    }

    public function testAMalformedUrlOrAppIdIsRefused(): void
    {
        foreach (['http://127.0.0.1:6379', 'redis://', '127.0.0.1:6379'] as $url) {
            try {
                new RedisPublisher('1', $url);
                $this->fail("accepted $url");
            } catch (ValidationException $e) {
                $this->assertSame('The Redis URL must look like redis://[user:password@]host[:port]', $e->getMessage());
            }
        }
        $this->expectException(ValidationException::class);
        $this->expectExceptionMessage("Invalid app id 'a}b'");
        new RedisPublisher('a}b', 'redis://127.0.0.1:6379');
    }
}
