<?php

// The requests this SDK sends are the ones pusher-php-server 7.2 sends for the same calls and
// options (method, request target with the signed query, body, headers), and the values it
// returns are the same. Both SDKs run with the clock frozen, so even auth_signature matches.

declare(strict_types=1);

namespace Realtime\Tests\Parity;

use PHPUnit\Framework\TestCase;
use Realtime\PusherCrypto;
use Realtime\Tests\Support\OfficialSdk;
use Realtime\Tests\Support\RecordingApi;
use Realtime\Tests\Support\TlsServer;

final class RequestParityTest extends TestCase
{
    private static ?RecordingApi $api = null;

    /** Headers that name the library and so differ by design; asserted separately. */
    private const OWN_HEADERS = ['user-agent', 'x-pusher-library'];

    public static function setUpBeforeClass(): void
    {
        if (OfficialSdk::unavailableReason() === null) {
            self::$api = new RecordingApi();
        }
    }

    public static function tearDownAfterClass(): void
    {
        self::$api?->stop();
        self::$api = null;
    }

    protected function setUp(): void
    {
        $reason = OfficialSdk::unavailableReason();
        if ($reason !== null) {
            $this->markTestSkipped($reason);
        }
    }

    /** Every HTTP API call, with the data shapes apps pass (arrays, strings, slashes, UTF-8). */
    private static function apiCalls(): array
    {
        return [
            ['trigger', 'my-channel', 'my-event', ['message' => 'hello/world é']],
            ['trigger', ['a', 'b'], 'e', 'plain string', ['socket_id' => '123.456']],
            ['trigger', 'a', 'e', '{"x":"a/b"}', [], true],
            ['trigger', 'a', 'e', ['n' => 1], ['info' => 'subscription_count']],
            ['triggerBatch', [
                ['channel' => 'a', 'name' => 'e1', 'data' => 'plain string'],
                ['channel' => 'b', 'name' => 'e2', 'data' => ['n' => 1], 'socket_id' => '1.2', 'info' => 'subscription_count'],
            ]],
            ['triggerBatch', [['channel' => 'a', 'name' => 'e', 'data' => '{"raw":1}']], true],
            ['getChannelInfo', 'presence-room', ['info' => 'user_count,subscription_count']],
            ['get_channel_info', 'presence-room'],
            ['getChannels', ['filter_by_prefix' => 'presence-', 'info' => 'user_count']],
            ['get_channels'],
            ['getPresenceUsers', 'presence-room'],
            ['get_users_info', 'presence-room'],
            ['sendToUser', '42', 'note', ['x' => 1]],
            ['terminateUserConnections', '42'],
            ['get', '/channels', ['filter_by_prefix' => 'a b']],
            ['post', '/events', '{"name":"e","channel":"c","data":"x"}'],
            ['triggerAsync', 'a', 'e', ['async' => true]],
            ['triggerBatchAsync', [['channel' => 'a', 'name' => 'e', 'data' => 'x']]],
            ['sendToUserAsync', '7', 'e', 'x'],
            ['terminateUserConnectionsAsync', '7'],
            ['postAsync', '/events', '{"name":"e","channel":"c","data":"x"}'],
        ];
    }

    /**
     * Runs $calls through both SDKs; asserts equal requests and results; returns ours. $client
     * is the fifth constructor argument ($ourClient for this SDK when it differs).
     */
    private function assertSameRequests(array $options, array $calls, ?array $client = null, ?array $ourClient = null): array
    {
        $official = OfficialSdk::run('official', $options, $calls, $client);
        $officialRequests = self::$api->take();
        $ours = OfficialSdk::run('realtime', $options, $calls, $ourClient ?? $client);
        $ourRequests = self::$api->take();

        $this->assertSame(self::outcomes($official), self::outcomes($ours), 'return values differ');
        $this->assertNotEmpty($officialRequests, 'the official SDK sent nothing');
        $this->assertSame(
            array_map([self::class, 'comparable'], $officialRequests),
            array_map([self::class, 'comparable'], $ourRequests),
            'requests differ'
        );
        foreach ($ourRequests as $request) {
            $this->assertMatchesRegularExpression('/\Arealtime-php \S+\z/', $request['headers']['x-pusher-library']);
        }
        foreach ($officialRequests as $request) {
            $this->assertSame('pusher-http-php 7.2.6', $request['headers']['x-pusher-library']);
        }
        return $ourRequests;
    }

    /** Results with errors reduced to what callers can catch on (messages are our own). */
    private static function outcomes(array $results): array
    {
        return array_map(static fn (array $r) => isset($r['error'])
            ? ['error' => array_intersect_key($r['error'], array_flip(['api_error', 'pusher_exception', 'code']))]
            : $r, $results);
    }

    private static function comparable(array $request): array
    {
        $request['headers'] = array_diff_key($request['headers'], array_flip(self::OWN_HEADERS));
        return $request;
    }

    private function target(): array
    {
        return ['host' => '127.0.0.1', 'port' => self::$api->port];
    }

    public function testHostAndPortWithoutSchemeSendPlainHttpLikeTheOfficialSdk(): void
    {
        $requests = $this->assertSameRequests($this->target(), self::apiCalls());
        $this->assertSame('127.0.0.1:' . self::$api->port, $requests[0]['headers']['host']);
    }

    public function testExplicitHttpScheme(): void
    {
        $this->assertSameRequests($this->target() + ['scheme' => 'http'], self::apiCalls());
    }

    public function testLaravelDefaultConfigShape(): void
    {
        // config/broadcasting.php: env() values are strings; 'encrypted' is a leftover option.
        $this->assertSameRequests([
            'cluster' => 'mt1',
            'host' => '127.0.0.1',
            'port' => (string) self::$api->port,
            'scheme' => 'http',
            'encrypted' => true,
            'useTLS' => false,
        ], self::apiCalls(), ['kind' => 'guzzle', 'options' => []]);
    }

    public function testUseTlsFalseWithHostAndPort(): void
    {
        $this->assertSameRequests($this->target() + ['useTLS' => false], [['trigger', 'a', 'e', 'x'], ['getChannels']]);
    }

    public function testHostWithSchemePrefixAndPort(): void
    {
        $this->assertSameRequests(
            ['host' => 'http://127.0.0.1', 'port' => self::$api->port],
            [['trigger', 'a', 'e', 'x'], ['getChannels']]
        );
    }

    public function testPathPrefixEndingInSlashIsPrependedButNotSigned(): void
    {
        $requests = $this->assertSameRequests($this->target() + ['path' => '/realtime/'], [['trigger', 'a', 'e', 'x'], ['getChannels']]);
        $this->assertStringStartsWith('/realtime/apps/4242/events?', $requests[0]['target']);
    }

    public function testPathPrefixWithoutTrailingSlashIsReplacedLikeGuzzleBaseUri(): void
    {
        $requests = $this->assertSameRequests($this->target() + ['path' => '/realtime'], [['trigger', 'a', 'e', 'x'], ['getChannels']]);
        $this->assertStringStartsWith('/apps/4242/events?', $requests[0]['target']);
    }

    /** @return array<string, array{string}> */
    public function clientKinds(): array
    {
        return ['a Guzzle client (Laravel)' => ['guzzle'], 'an array of Guzzle options' => ['array']];
    }

    /** @dataProvider clientKinds */
    public function testClientHeadersAreSentLikeTheOfficialSdk(string $kind): void
    {
        $headers = ['X-Request-Source' => 'laravel', 'User-Agent' => 'MyApp/2.0', 'Content-Type' => 'text/plain'];
        $requests = $this->assertSameRequests(
            $this->target(),
            [['trigger', 'a', 'e', 'x'], ['getChannels'], ['triggerAsync', 'a', 'e', 'y']],
            ['kind' => 'guzzle', 'options' => ['headers' => $headers]],
            ['kind' => $kind, 'options' => ['headers' => $headers]]
        );
        foreach ($requests as $request) {
            $this->assertSame('laravel', $request['headers']['x-request-source']);
            $this->assertSame('MyApp/2.0', $request['headers']['user-agent']);
            $this->assertSame('application/json', $request['headers']['content-type'], 'the SDK\'s own header wins');
        }
    }

    /** @dataProvider clientKinds */
    public function testClientProxyCarriesTheRequestsLikeTheOfficialSdk(string $kind): void
    {
        $proxy = 'http://127.0.0.1:' . self::$api->port;
        $options = ['host' => 'realtime.invalid', 'port' => 6001, 'scheme' => 'http'];
        $requests = $this->assertSameRequests(
            $options,
            [['trigger', 'a', 'e', 'x'], ['getChannelInfo', 'presence-room']],
            ['kind' => 'guzzle', 'options' => ['proxy' => $proxy]],
            ['kind' => $kind, 'options' => ['proxy' => $proxy]]
        );
        $this->assertStringStartsWith('http://realtime.invalid:6001/apps/4242/events?', $requests[0]['target']);
    }

    /** @dataProvider clientKinds */
    public function testClientProxyPerSchemeWithNoProxyListLikeTheOfficialSdk(string $kind): void
    {
        $viaProxy = ['http' => 'http://127.0.0.1:' . self::$api->port, 'https' => 'http://127.0.0.1:1', 'no' => ['other.test']];
        $requests = $this->assertSameRequests(
            ['host' => 'realtime.invalid', 'port' => 6001, 'scheme' => 'http'],
            [['trigger', 'a', 'e', 'x']],
            ['kind' => 'guzzle', 'options' => ['proxy' => $viaProxy]],
            ['kind' => $kind, 'options' => ['proxy' => $viaProxy]]
        );
        $this->assertStringStartsWith('http://realtime.invalid:6001/', $requests[0]['target']);

        // 127.0.0.1 is in the no-proxy list: the dead proxy on port 1 is not used.
        $bypass = ['http' => 'http://127.0.0.1:1', 'no' => ['localhost', '127.0.0.1']];
        $requests = $this->assertSameRequests(
            $this->target(),
            [['trigger', 'a', 'e', 'x']],
            ['kind' => 'guzzle', 'options' => ['proxy' => $bypass]],
            ['kind' => $kind, 'options' => ['proxy' => $bypass]]
        );
        $this->assertStringStartsWith('/apps/4242/events?', $requests[0]['target']);
    }

    public function testClientVerifyOptionDecidesAboutASelfSignedServerLikeTheOfficialSdk(): void
    {
        $tls = new TlsServer();
        $options = ['host' => '127.0.0.1', 'port' => $tls->port, 'scheme' => 'https'];
        $calls = [['trigger', 'a', 'e', 'x']];
        foreach ([['verify' => false], ['verify' => $tls->certFile]] as $clientOptions) {
            $client = ['kind' => 'guzzle', 'options' => $clientOptions];
            $official = OfficialSdk::run('official', $options, $calls, $client);
            $this->assertSame([['value' => ['channels' => [], 'tls' => true]]], $official);
            $this->assertSame($official, OfficialSdk::run('realtime', $options, $calls, $client));
        }
        // Default verification: neither SDK trusts the certificate (the official one throws
        // Guzzle's RequestException for it, this SDK a ConnectionException).
        $client = ['kind' => 'guzzle', 'options' => []];
        $this->assertArrayHasKey('error', OfficialSdk::run('official', $options, $calls, $client)[0]);
        $this->assertArrayHasKey('error', OfficialSdk::run('realtime', $options, $calls, $client)[0]);
        $tls->stop();
    }

    public function testAsyncPromisesBehaveLikeGuzzlePromises(): void
    {
        $calls = [['promiseScript']];
        $official = OfficialSdk::run('official', $this->target(), $calls);
        self::$api->take();
        $ours = OfficialSdk::run('realtime', $this->target(), $calls);
        self::$api->take();
        $this->assertSame($official, $ours);
        $this->assertContains('wait throws ApiErrorException 404 (Status 404) {"error":"Unknown route"}', $ours[0]['value']);
    }

    public function testEveryPublicMethodAndTheInterfaceExist(): void
    {
        $calls = [['api']];
        $official = OfficialSdk::run('official', [], $calls)[0]['value'];
        $ours = OfficialSdk::run('realtime', [], $calls)[0]['value'];
        // make_request/make_batch_request (deprecated in 7.1) return Guzzle PSR-7 requests,
        // and setLogger comes from psr/log's LoggerAwareTrait (ours takes any logger).
        $notOffered = ['make_request', 'make_batch_request'];
        $this->assertSame([], array_values(array_diff($official['class'], $ours['class'], $notOffered)));
        $this->assertEqualsCanonicalizing($official['interface'], $ours['interface']);
        $this->assertTrue($ours['implements']);
        $this->assertSame('Realtime\\PusherException', $ours['api_error_exception_parent']);
    }

    public function testEncryptedChannelsCarryTheSamePlaintextInTheSameShape(): void
    {
        $masterKey = base64_encode(str_repeat('k', 32));
        $options = $this->target() + ['encryption_master_key_base64' => $masterKey];
        $calls = [
            ['trigger', 'private-encrypted-x', 'e', ['card' => '4111/é']],
            ['triggerBatch', [
                ['channel' => 'private-encrypted-y', 'name' => 'e', 'data' => 'plain string'],
                ['channel' => 'public', 'name' => 'e', 'data' => ['n' => 1]],
            ]],
            ['authorizeChannel', 'private-encrypted-x', '1.2'],
        ];
        $official = OfficialSdk::run('official', $options, $calls);
        $officialRequests = self::$api->take();
        $ours = OfficialSdk::run('realtime', $options, $calls);
        $ourRequests = self::$api->take();
        $this->assertSame($official, $ours, 'results and the shared_secret');

        // The nonce is random, so compare the bodies with each ciphertext decrypted.
        $crypto = new PusherCrypto(PusherCrypto::parse_master_key($masterKey));
        $opened = static function (array $request) use ($crypto): array {
            $body = json_decode($request['body'], true);
            foreach (isset($body['batch']) ? array_keys($body['batch']) : [null] as $i) {
                $event = $i === null ? $body : $body['batch'][$i];
                if (str_starts_with($event['channel'], 'private-encrypted-')) {
                    $sealed = json_decode($event['data'], true);
                    $event['data'] = ['keys' => array_keys($sealed), 'plain' => $crypto->decrypt_payload($event['channel'], $event['data'])];
                }
                $i === null ? $body = $event : $body['batch'][$i] = $event;
            }
            return [$request['method'], strtok($request['target'], '?'), array_keys($body), $body];
        };
        $this->assertSame(array_map($opened, $officialRequests), array_map($opened, $ourRequests));
        $this->assertSame('{"card":"4111\\/\\u00e9"}', $opened($ourRequests[0])[3]['data']['plain']);
    }

    public function testAuthorizationStringsAreIdentical(): void
    {
        $calls = [
            ['authorizeChannel', 'private-a', '1.2'],
            ['authorizeChannel', 'private-a', '1.2', 'custom/data'],
            ['authorizeChannel', 'private-a', '1.2', '0'],
            ['authorizePresenceChannel', 'presence-a', '1.2', 'u1', ['name' => 'A/B é', 'url' => 'http://x/y']],
            ['authorizePresenceChannel', 'presence-a', '1.2', 'u1'],
            ['authenticateUser', '1.2', ['id' => 'u1', 'user_info' => ['url' => 'http://x/y', 'name' => 'é']]],
            ['socket_auth', 'private-a', '1.2'],
            ['socketAuth', 'private-a', '1.2', 'x'],
            ['presence_auth', 'presence-a', '1.2', 'u1', ['n' => 1]],
            ['presenceAuth', 'presence-a', '1.2', 'u1', ['n' => 1]],
        ];
        $official = OfficialSdk::run('official', $this->target(), $calls);
        $ours = OfficialSdk::run('realtime', $this->target(), $calls);
        $this->assertSame(self::outcomes($official), self::outcomes($ours));
    }

    /** @return array<string, array{array}> */
    public function settingsCases(): array
    {
        return [
            'nothing given: TLS to the default cluster' => [[]],
            'cluster only' => [['cluster' => 'eu']],
            'cluster and host: host wins' => [['cluster' => 'eu', 'host' => 'realtime.test']],
            'useTLS false' => [['useTLS' => false]],
            'useTLS false with cluster' => [['useTLS' => false, 'cluster' => 'ap1']],
            'host only' => [['host' => 'realtime.test']],
            'host and port, no scheme' => [['host' => 'realtime.test', 'port' => 6001]],
            'scheme https without port keeps port 80' => [['host' => 'realtime.test', 'scheme' => 'https']],
            'scheme http without port' => [['host' => 'realtime.test', 'scheme' => 'http']],
            'port only' => [['host' => 'realtime.test', 'port' => 443]],
            'useTLS true with port' => [['host' => 'realtime.test', 'useTLS' => true, 'port' => 6001]],
            'useTLS as a string is not true' => [['host' => 'realtime.test', 'useTLS' => 'true']],
            'https host prefix is only stripped' => [['host' => 'https://realtime.test', 'port' => 6001]],
            'http host prefix with defaults' => [['host' => 'http://realtime.test']],
        ];
    }

    /** @dataProvider settingsCases */
    public function testSchemeHostAndPortResolveLikeTheOfficialSdk(array $options): void
    {
        $calls = [['settings']];
        $this->assertSame(
            self::outcomes(OfficialSdk::run('official', $options, $calls)),
            self::outcomes(OfficialSdk::run('realtime', $options, $calls))
        );
    }
}
