<?php

// Constructor options resolve like pusher-php-server's, plus our extras.

declare(strict_types=1);

namespace Realtime\Tests\Unit;

use PHPUnit\Framework\TestCase;
use Realtime\Compat;
use Realtime\Pusher;
use Realtime\PusherException;

final class ConfigTest extends TestCase
{
    public function testDefaultsToTlsOnPort443(): void
    {
        $s = (new Pusher('key12345', 'secret', 1))->getSettings();
        $this->assertSame(['https', 443, '1', '/apps/1'], [$s['scheme'], $s['port'], $s['app_id'], $s['base_path']]);
    }

    public function testUseTlsFalseMeansHttpOnPort80(): void
    {
        $s = (new Pusher('key12345', 'secret', '1', ['useTLS' => false]))->getSettings();
        $this->assertSame(['http', 80], [$s['scheme'], $s['port']]);
    }

    public function testLaravelStyleOptionsAndIgnoredClientArgument(): void
    {
        // Laravel passes scheme/port/useTLS together and a Guzzle client as 5th argument.
        $s = (new Pusher('key12345', 'secret', '1', [
            'host' => 'realtime.internal', 'port' => 6001, 'scheme' => 'http', 'useTLS' => false,
        ], new \stdClass()))->getSettings();
        $this->assertSame(['http', 'realtime.internal', 6001], [$s['scheme'], $s['host'], $s['port']]);
    }

    public function testSchemePrefixInHostIsStrippedAndDoesNotChooseTheScheme(): void
    {
        // pusher-php-server removes it; scheme and port still follow the useTLS rule.
        $s = (new Pusher('key12345', 'secret', '1', ['host' => 'http://example.test/']))->getSettings();
        $this->assertSame(['https', 'example.test', 443], [$s['scheme'], $s['host'], $s['port']]);
    }

    public function testPathGetsALeadingSlash(): void
    {
        $s = (new Pusher('key12345', 'secret', '1', ['path' => 'ws-api/']))->getSettings();
        $this->assertSame('/ws-api/', $s['path']);
    }

    public function testInvalidSchemeIsRejected(): void
    {
        $this->expectExceptionMessage('Invalid scheme "ftp"');
        new Pusher('key12345', 'secret', '1', ['scheme' => 'ftp']);
    }

    public function testEmptyCredentialsAreRejected(): void
    {
        $this->expectException(PusherException::class);
        new Pusher('', 'secret', '1');
    }

    public function testPresenceAuthEncodesUserIdAsString(): void
    {
        $pusher = new Pusher('key12345', 'secret', '1');
        $response = json_decode($pusher->authorizePresenceChannel('presence-r', '1.2', 42, ['name' => 'Ada']), true);
        $this->assertSame('{"user_id":"42","user_info":{"name":"Ada"}}', $response['channel_data']);
        $expected = 'key12345:' . hash_hmac('sha256', '1.2:presence-r:' . $response['channel_data'], 'secret');
        $this->assertSame($expected, $response['auth']);
    }

    public function testDeprecatedAuthAliasesMatchTheNewMethods(): void
    {
        $pusher = new Pusher('key12345', 'secret', '1');
        $this->assertSame($pusher->authorizeChannel('private-a', '1.2'), $pusher->socket_auth('private-a', '1.2'));
        $this->assertSame($pusher->authorizeChannel('private-a', '1.2', 'x'), $pusher->socketAuth('private-a', '1.2', 'x'));
        $presence = $pusher->authorizePresenceChannel('presence-a', '1.2', 'u', ['n' => 1]);
        $this->assertSame($presence, $pusher->presence_auth('presence-a', '1.2', 'u', ['n' => 1]));
        $this->assertSame($presence, $pusher->presenceAuth('presence-a', '1.2', 'u', ['n' => 1]));
    }

    public function testAuthenticateUserSignsTheSerialisedUserData(): void
    {
        $pusher = new Pusher('key12345', 'secret', '1');
        $response = json_decode($pusher->authenticateUser('1.2', ['id' => '42', 'user_info' => ['url' => 'a/b']]), true);
        // Escaped slashes, as pusher-php-server's json_encode() gives (same signature).
        $this->assertSame('{"id":"42","user_info":{"url":"a\\/b"}}', $response['user_data']);
        $this->assertSame('key12345:' . hash_hmac('sha256', '1.2::user::' . $response['user_data'], 'secret'), $response['auth']);
    }

    /** @runInSeparateProcess */
    public function testCompatAliasesMakePusherNamespaceNamesForOurClasses(): void
    {
        $created = Compat::aliasPusherNamespace();
        $this->assertContains('Pusher\\Pusher', $created);
        $pusher = new \Pusher\Pusher('key12345', 'secret', '1');
        $this->assertInstanceOf(Pusher::class, $pusher);
        $this->assertTrue(is_a(\Realtime\ApiErrorException::class, 'Pusher\\ApiErrorException', true));
        $this->assertSame([], Compat::aliasPusherNamespace(), 'second call is a no-op');
    }
}
