<?php

// The fifth constructor argument: Guzzle request options (as an array here; a Guzzle client in
// tests/Parity) apply to every request this SDK sends.

declare(strict_types=1);

namespace Realtime\Tests\Unit;

use PHPUnit\Framework\TestCase;
use Realtime\ConnectionException;
use Realtime\Pusher;
use Realtime\PusherException;
use Realtime\Tests\Support\RecordingApi;
use Realtime\Tests\Support\TlsServer;

final class ClientOptionsTest extends TestCase
{
    private static ?RecordingApi $api = null;
    private static ?TlsServer $tls = null;

    public static function setUpBeforeClass(): void
    {
        self::$api = new RecordingApi();
        self::$tls = new TlsServer();
    }

    public static function tearDownAfterClass(): void
    {
        self::$api?->stop();
        self::$tls?->stop();
        self::$api = self::$tls = null;
    }

    private function pusher(array $options, array $client): Pusher
    {
        return new Pusher('key12345', 'secret', '1', $options + ['host' => '127.0.0.1', 'port' => self::$api->port], $client);
    }

    public function testClientTimeoutAppliesWhenNoTimeoutOptionIsGiven(): void
    {
        $pusher = $this->pusher([], ['timeout' => 0.3]);
        $started = microtime(true);
        try {
            $pusher->post('/slow', '{}');
            $this->fail('expected a timeout');
        } catch (ConnectionException $e) {
            $this->assertSame(CURLE_OPERATION_TIMEDOUT, $e->getCurlErrno());
        }
        $this->assertLessThan(1.2, microtime(true) - $started, 'the /slow endpoint answers after 1.5 s');
        self::$api->take();
    }

    public function testTimeoutOptionWinsOverTheClientTimeout(): void
    {
        $result = $this->pusher(['timeout' => 5], ['timeout' => 0.3])->post('/slow', '{}');
        $this->assertTrue($result->occupied);
        self::$api->take();
    }

    public function testClientHeadersAreAddedButCannotReplaceTheSdkHeaders(): void
    {
        $this->pusher([], ['headers' => [
            'X-Tenant' => 'acme',
            'X-List' => ['a', 'b'],
            'content-type' => 'text/plain',
            'X-Pusher-Library' => 'spoofed',
        ]])->trigger('c', 'e', 'x');
        [$request] = self::$api->take();
        $this->assertSame('acme', $request['headers']['x-tenant']);
        $this->assertSame('a, b', $request['headers']['x-list']);
        $this->assertSame('application/json', $request['headers']['content-type']);
        $this->assertStringStartsWith('realtime-php ', $request['headers']['x-pusher-library']);
    }

    public function testProxyOptionSendsAbsoluteUrlsToTheProxy(): void
    {
        $pusher = new Pusher('key12345', 'secret', '1', ['host' => 'realtime.invalid', 'port' => 6001], [
            'proxy' => 'http://127.0.0.1:' . self::$api->port,
        ]);
        $pusher->getChannels();
        [$request] = self::$api->take();
        $this->assertStringStartsWith('http://realtime.invalid:6001/apps/1/channels?', $request['target']);
    }

    public function testSelfSignedServerIsRefusedByDefault(): void
    {
        $pusher = new Pusher('key12345', 'secret', '1', ['host' => '127.0.0.1', 'port' => self::$tls->port, 'scheme' => 'https', 'retries' => 0]);
        $this->expectException(ConnectionException::class);
        $pusher->getChannels();
    }

    public function testVerifyFalseAcceptsASelfSignedServer(): void
    {
        $pusher = new Pusher('key12345', 'secret', '1', ['host' => '127.0.0.1', 'port' => self::$tls->port, 'scheme' => 'https'], [
            'verify' => false,
        ]);
        $this->assertTrue($pusher->getChannels()->tls);
    }

    public function testVerifyWithACaFileTrustsThatCertificate(): void
    {
        $pusher = new Pusher('key12345', 'secret', '1', ['host' => '127.0.0.1', 'port' => self::$tls->port, 'scheme' => 'https'], [
            'verify' => self::$tls->certFile,
        ]);
        $this->assertTrue($pusher->trigger('c', 'e', 'x')->tls);
    }

    public function testCryptoMethodSetsTheMinimumTlsVersion(): void
    {
        $options = ['host' => '127.0.0.1', 'port' => self::$tls->port, 'scheme' => 'https'];
        $pusher = new Pusher('key12345', 'secret', '1', $options, [
            'verify' => false,
            'crypto_method' => STREAM_CRYPTO_METHOD_TLSv1_2_CLIENT, // what Laravel passes
        ]);
        $this->assertTrue($pusher->getChannels()->tls);
        $this->expectExceptionMessage('Invalid crypto_method');
        new Pusher('key12345', 'secret', '1', $options, ['crypto_method' => 12345]);
    }

    public function testVerifyWithAMissingCaFileIsAConfigurationError(): void
    {
        $this->expectException(PusherException::class);
        $this->expectExceptionMessage('SSL CA bundle not found: /nonexistent/ca.pem');
        new Pusher('key12345', 'secret', '1', [], ['verify' => '/nonexistent/ca.pem']);
    }

    public function testOtherClientObjectsAreIgnored(): void
    {
        $pusher = $this->pusher([], []);
        $withObject = new Pusher('key12345', 'secret', '1', ['host' => '127.0.0.1', 'port' => self::$api->port], new \stdClass());
        $pusher->trigger('c', 'e', 'x');
        $withObject->trigger('c', 'e', 'x');
        [$a, $b] = self::$api->take();
        $this->assertSame($a['headers'], $b['headers']);
    }
}
