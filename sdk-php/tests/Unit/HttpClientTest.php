<?php

// The client's requests and error mapping, against a local fake API (tests/fixtures/fake_api.php)
// that checks signatures and echoes what it received.

declare(strict_types=1);

namespace Realtime\Tests\Unit;

use PHPUnit\Framework\TestCase;
use Realtime\ApiErrorException;
use Realtime\ConnectionException;
use Realtime\Promise;
use Realtime\Pusher;
use Realtime\PusherException;
use Realtime\Tests\Support\MemoryLogger;
use Realtime\Tests\Support\PhpServer;
use Realtime\Tests\Support\Ports;

final class HttpClientTest extends TestCase
{
    private const KEY = 'fakekey123';
    private const SECRET = 'fakesecret456';

    private static ?PhpServer $api = null;
    private static ?PhpServer $prefixedApi = null;

    public static function setUpBeforeClass(): void
    {
        self::$api = new PhpServer(__DIR__ . '/../fixtures/fake_api.php');
        self::$prefixedApi = new PhpServer(__DIR__ . '/../fixtures/fake_api.php', ['FAKE_PREFIX' => '/realtime']);
    }

    public static function tearDownAfterClass(): void
    {
        self::$api?->stop();
        self::$prefixedApi?->stop();
        self::$api = self::$prefixedApi = null;
    }

    private function pusher(array $options = []): Pusher
    {
        return new Pusher(self::KEY, self::SECRET, '1', $options + [
            'host' => '127.0.0.1',
            'port' => self::$api->port,
            'scheme' => 'http',
        ]);
    }

    public function testTriggerToOneChannelSendsChannelAndSignedJson(): void
    {
        $echo = $this->pusher()->trigger('orders', 'order.shipped', ['id' => 1]);
        $this->assertSame('POST', $echo->method);
        $this->assertSame('/apps/1/events', $echo->path);
        $this->assertTrue($echo->signature_ok);
        $this->assertSame(
            ['name' => 'order.shipped', 'data' => '{"id":1}', 'channel' => 'orders'],
            json_decode($echo->body, true)
        );
        $this->assertSame('application/json', $echo->headers->{'content-type'});
        $this->assertStringStartsWith('realtime-php ', $echo->headers->{'x-pusher-library'});
        $this->assertSame(md5($echo->body), $echo->query->body_md5);
        $this->assertSame(self::KEY, $echo->query->auth_key);
    }

    public function testTriggerToSeveralChannelsSendsChannelsSocketIdAndInfo(): void
    {
        $echo = $this->pusher()->trigger(['a', 'b'], 'e', 'hi', [
            'socket_id' => '123.456',
            'info' => ['user_count', 'subscription_count'],
        ]);
        $this->assertSame([
            'name' => 'e',
            'data' => '"hi"',
            'channels' => ['a', 'b'],
            'socket_id' => '123.456',
            'info' => 'user_count,subscription_count',
        ], json_decode($echo->body, true));
    }

    public function testTriggerResultChannelsBecomeAnArray(): void
    {
        $result = $this->pusher()->trigger('a', 'e', 'x', ['info' => 'subscription_count']);
        $this->assertIsArray($result->channels);
        $this->assertSame(1, $result->channels['a']->subscription_count);
    }

    public function testAlreadyEncodedDataIsSentUntouched(): void
    {
        $echo = $this->pusher()->trigger('a', 'e', '{"raw":true}', [], true);
        $this->assertSame('{"raw":true}', json_decode($echo->body)->data);
    }

    public function testTriggerBatchJsonEncodesStringDataLikeTrigger(): void
    {
        $echo = $this->pusher()->triggerBatch([
            ['channel' => 'a', 'name' => 'e1', 'data' => ['n' => 1]],
            ['channel' => 'b', 'name' => 'e2', 'data' => 'plain', 'socket_id' => '1.2'],
        ]);
        $this->assertSame('/apps/1/batch_events', $echo->path);
        $this->assertTrue($echo->signature_ok);
        $this->assertSame(['batch' => [
            ['name' => 'e1', 'data' => '{"n":1}', 'channel' => 'a'],
            ['name' => 'e2', 'data' => '"plain"', 'channel' => 'b', 'socket_id' => '1.2'],
        ]], json_decode($echo->body, true));
    }

    public function testSendToUserTargetsServerToUserChannel(): void
    {
        $echo = $this->pusher()->sendToUser('42', 'note', ['x' => 1]);
        $this->assertSame('#server-to-user-42', json_decode($echo->body)->channel);
    }

    public function testTerminateUserConnectionsPostsEmptyObject(): void
    {
        $echo = $this->pusher()->terminateUserConnections('42');
        $this->assertSame('/apps/1/users/42/terminate_connections', $echo->path);
        $this->assertSame('{}', $echo->body);
        $this->assertTrue($echo->signature_ok);
    }

    public function testGetChannelInfoSendsSignedQueryParams(): void
    {
        $echo = $this->pusher()->getChannelInfo('presence-room', ['info' => 'user_count,subscription_count']);
        $this->assertSame('GET', $echo->method);
        $this->assertSame('/apps/1/channels/presence-room', $echo->path);
        $this->assertSame('user_count,subscription_count', $echo->query->info);
        $this->assertFalse(isset($echo->query->body_md5));
        $this->assertTrue($echo->signature_ok);
    }

    public function testQueryValuesWithSpacesAreSignedUnescaped(): void
    {
        $echo = $this->pusher()->get('/channels', ['filter_by_prefix' => 'a b&c=d']);
        $this->assertSame('a b&c=d', $echo->query->filter_by_prefix);
        $this->assertTrue($echo->signature_ok);
    }

    public function testServerToUserChannelInfoEscapesHashInPath(): void
    {
        $echo = $this->pusher()->getChannelInfo('#server-to-user-7');
        $this->assertSame('/apps/1/channels/%23server-to-user-7', $echo->path);
        $this->assertTrue($echo->signature_ok);
    }

    public function testGetChannelsTurnsChannelsIntoArray(): void
    {
        $result = $this->pusher()->getChannels(['filter_by_prefix' => 'presence-']);
        $this->assertIsArray($result->channels);
        $this->assertSame('presence-', $result->query->filter_by_prefix);
    }

    public function testGetAssociativeReturnsArrays(): void
    {
        $result = $this->pusher()->get('/channels', [], true);
        $this->assertIsArray($result);
        $this->assertSame('GET', $result['method']);
    }

    public function testPathPrefixIsSentButNotSigned(): void
    {
        $pusher = $this->pusher(['port' => self::$prefixedApi->port, 'path' => '/realtime/']);
        $echo = $pusher->trigger('a', 'e', 'x');
        $this->assertSame('/realtime/apps/1/events', $echo->path);
        $this->assertTrue($echo->signature_ok, 'the signature covers /apps/1/events, without the prefix');
    }

    public function testNon200StatusBecomesApiErrorExceptionWithStatusAndBody(): void
    {
        try {
            $this->pusher()->post('/status/413', '{}');
            $this->fail('expected ApiErrorException');
        } catch (ApiErrorException $e) {
            $this->assertSame(413, $e->getCode());
            $this->assertSame(413, $e->getStatus());
            $this->assertSame('{"error":"status 413"}', $e->getBody());
            $this->assertSame('{"error":"status 413"}', $e->getMessage());
        }
    }

    public function testEmptySuccessfulBodyIsADecodingError(): void
    {
        $this->expectException(PusherException::class);
        $this->expectExceptionMessage('Data decoding error');
        $this->pusher()->get('/empty');
    }

    public function testClosedPortBecomesConnectionExceptionWithStatusZero(): void
    {
        $pusher = $this->pusher(['port' => Ports::free(), 'retries' => 0]);
        try {
            $pusher->trigger('a', 'e', 'x');
            $this->fail('expected ConnectionException');
        } catch (ConnectionException $e) {
            $this->assertInstanceOf(ApiErrorException::class, $e);
            $this->assertSame(0, $e->getCode());
            $this->assertSame(7, $e->getCurlErrno()); // CURLE_COULDNT_CONNECT
            $this->assertStringContainsString('POST /apps/1/events', $e->getMessage());
        }
    }

    public function testGetIsRetriedWithBackoffAfterNetworkErrors(): void
    {
        $logger = new MemoryLogger();
        $pusher = $this->pusher(['port' => Ports::free(), 'retries' => 2, 'retry_delay_ms' => 20]);
        $pusher->setLogger($logger);
        $started = microtime(true);
        try {
            $pusher->getChannels();
            $this->fail('expected ConnectionException');
        } catch (ConnectionException) {
        }
        $elapsedMs = (microtime(true) - $started) * 1000;
        $retries = array_values(array_filter($logger->records, static fn ($r) => str_contains($r['message'], 'retrying')));
        $this->assertCount(2, $retries);
        $this->assertSame([20, 40], array_map(static fn ($r) => $r['context']['delay_ms'], $retries));
        $this->assertGreaterThanOrEqual(60, $elapsedMs);
    }

    public function testPostIsNotRetried(): void
    {
        $logger = new MemoryLogger();
        $pusher = $this->pusher(['port' => Ports::free(), 'retries' => 2, 'retry_delay_ms' => 1]);
        $pusher->setLogger($logger);
        try {
            $pusher->trigger('a', 'e', 'x');
        } catch (ConnectionException) {
        }
        $this->assertSame([], array_filter($logger->records, static fn ($r) => str_contains($r['message'], 'retrying')));
    }

    public function testLoggerGetsRequestsButNeverSecretsOrSignatures(): void
    {
        $logger = new MemoryLogger();
        $pusher = $this->pusher();
        $pusher->setLogger($logger);
        $echo = $pusher->trigger('a', 'e', 'x');
        try {
            $pusher->get('/status/401');
        } catch (ApiErrorException) {
        }
        $this->assertNotEmpty($logger->records);
        $dump = $logger->dump();
        $this->assertStringContainsString('/apps/1/events', $dump);
        $this->assertStringContainsString('"status":401', $dump);
        $this->assertStringNotContainsString(self::SECRET, $dump);
        $this->assertStringNotContainsString($echo->query->auth_signature, $dump);
        $this->assertStringNotContainsString('auth_signature', $dump);
    }

    public function testSetLoggerRejectsObjectsWithoutLogMethod(): void
    {
        $this->expectException(PusherException::class);
        $this->pusher()->setLogger(new \stdClass());
    }

    public function testTriggerAsyncResolvesToTheTriggerResult(): void
    {
        $promise = $this->pusher()->triggerAsync('a', 'e', ['n' => 1]);
        $this->assertInstanceOf(Promise::class, $promise);
        $result = $promise->wait();
        $this->assertSame('{"n":1}', json_decode($result->body)->data);
        $this->assertIsArray($result->channels);
        $this->assertSame(Promise::FULFILLED, $promise->getState());
    }

    public function testSeveralAsyncRequestsRunConcurrently(): void
    {
        $pusher = $this->pusher();
        $promises = [];
        for ($i = 0; $i < 3; $i++) {
            $promises[] = $pusher->postAsync('/slow', '{}');
        }
        $bodies = array_map(static fn (Promise $p) => $p->wait()->path, $promises);
        $this->assertSame(array_fill(0, 3, '/apps/1/slow'), $bodies);
    }

    public function testTriggerBatchAsyncAndThenChain(): void
    {
        $path = $this->pusher()
            ->triggerBatchAsync([['channel' => 'a', 'name' => 'e', 'data' => 'x']])
            ->then(static fn (object $r) => $r->path)
            ->wait();
        $this->assertSame('/apps/1/batch_events', $path);
    }

    public function testAsyncErrorRejectsThePromise(): void
    {
        $promise = $this->pusher()->postAsync('/status/404', '{}');
        $caught = $promise->otherwise(static fn (ApiErrorException $e) => $e->getStatus())->wait();
        $this->assertSame(404, $caught);
        $this->expectException(ApiErrorException::class);
        $promise->wait();
    }

    public function testAsyncConnectionErrorRejectsThePromise(): void
    {
        $promise = $this->pusher(['port' => Ports::free()])->triggerAsync('a', 'e', 'x');
        $this->expectException(ConnectionException::class);
        $promise->wait();
    }

    public function testSendToUserAsyncAndTerminateAsync(): void
    {
        $pusher = $this->pusher();
        $a = $pusher->sendToUserAsync('9', 'e', 'x');
        $b = $pusher->terminateUserConnectionsAsync('9');
        $this->assertSame('#server-to-user-9', json_decode($a->wait()->body)->channel);
        $this->assertSame('/apps/1/users/9/terminate_connections', $b->wait()->path);
    }

    public function testGetAsync(): void
    {
        $this->assertSame('GET', $this->pusher()->getAsync('/channels')->wait()->method);
    }
}
