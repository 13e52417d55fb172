<?php

// issueConnectionToken(): the HS256 JWT a browser presents to connect signed in
// (docs/security.md, "Connection tokens"), checked here with PHP's own HMAC and base64.

declare(strict_types=1);

namespace Realtime\Tests\Unit;

use PHPUnit\Framework\TestCase;
use Realtime\Pusher;
use Realtime\ValidationException;

final class ConnectionTokenTest extends TestCase
{
    private function pusher(): Pusher
    {
        return new Pusher('key12345', 'secret', '1234567', ['host' => '127.0.0.1', 'port' => 1, 'scheme' => 'http']);
    }

    /** @return array{0: array, 1: array} header and claims, after checking the signature */
    private static function open(string $token, string $secret): array
    {
        $parts = explode('.', $token);
        self::assertCount(3, $parts);
        [$h, $p, $s] = $parts;
        $b64 = static fn (string $bytes) => rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
        self::assertSame($b64(hash_hmac('sha256', "$h.$p", $secret, true)), $s);
        $json = static fn (string $part) => json_decode(base64_decode(strtr($part, '-_', '+/')), true, 512, JSON_THROW_ON_ERROR);
        return [$json($h), $json($p)];
    }

    public function testMinimalTokenHasSubAudIatExpAndTheKeyAsKid(): void
    {
        $before = time();
        [$header, $claims] = self::open($this->pusher()->issueConnectionToken('u42'), 'secret');
        $this->assertSame(['alg' => 'HS256', 'typ' => 'JWT', 'kid' => 'key12345'], $header);
        $this->assertSame(['sub', 'aud', 'iat', 'exp'], array_keys($claims));
        $this->assertSame('u42', $claims['sub']);
        $this->assertSame('1234567', $claims['aud']);
        $this->assertGreaterThanOrEqual($before, $claims['iat']);
        $this->assertSame(300, $claims['exp'] - $claims['iat']);
    }

    public function testChannelsUserInfoAndTtlAreCarried(): void
    {
        $token = $this->pusher()->issueConnectionToken(42, ['private-a', 'presence-room-*'], 60, ['name' => 'Ada']);
        [, $claims] = self::open($token, 'secret');
        $this->assertSame('42', $claims['sub']);
        $this->assertSame(['private-a', 'presence-room-*'], $claims['channels']);
        $this->assertSame(['name' => 'Ada'], $claims['user_info']);
        $this->assertSame(60, $claims['exp'] - $claims['iat']);
        // an empty user_info is still a JSON object
        $payload = explode('.', $this->pusher()->issueConnectionToken('u', [], 300, []))[1];
        $this->assertStringContainsString('"user_info":{}', base64_decode(strtr($payload, '-_', '+/')));
    }

    public function invalidArguments(): array
    {
        return [
            'empty user id' => ['', [], 300, null, 'Invalid user id'],
            'user id with a blank' => ['a b', [], 300, null, 'Invalid user id'],
            'public channel' => ['u', ['orders'], 300, null, 'Token channels must be'],
            'non-string channel' => ['u', [7], 300, null, 'Token channels must be'],
            'ttl 0' => ['u', [], 0, null, 'The token lifetime must be 1 to 86400 seconds'],
            'ttl over a day' => ['u', [], 86401, null, 'The token lifetime must be 1 to 86400 seconds'],
            'user_info list' => ['u', [], 300, ['a', 'b'], 'user_info must be an associative array'],
        ];
    }

    /** @dataProvider invalidArguments */
    public function testInvalidArgumentsThrowValidationException(
        string $user,
        array $channels,
        int $ttl,
        ?array $info,
        string $message
    ): void {
        $this->expectException(ValidationException::class);
        $this->expectExceptionMessage($message);
        $this->pusher()->issueConnectionToken($user, $channels, $ttl, $info);
    }
}
