<?php

// Shared signing vectors (tests/vectors/signing.json): the same expectations the C server and
// sdk-js are tested against, so all three sign byte-for-byte alike.

declare(strict_types=1);

namespace Realtime\Tests\Unit;

use PHPUnit\Framework\TestCase;
use Realtime\Pusher;
use Realtime\PusherCrypto;
use Realtime\Signer;

final class SigningVectorsTest extends TestCase
{
    private static ?array $vectors = null;

    private static function vectors(string $section): array
    {
        if (self::$vectors === null) {
            $source = getenv('RT_SOURCE_DIR') ?: dirname(__DIR__, 3);
            $file = $source . '/tests/vectors/signing.json';
            $json = @file_get_contents($file);
            if ($json === false) {
                throw new \RuntimeException("Shared signing vectors not found at $file");
            }
            self::$vectors = json_decode($json, true, 512, JSON_THROW_ON_ERROR);
        }
        $cases = [];
        foreach (self::$vectors[$section] ?? [] as $vector) {
            $cases[$vector['name']] = [$vector];
        }
        if ($cases === []) {
            throw new \RuntimeException("signing.json has no \"$section\" vectors");
        }
        return $cases;
    }

    public function channelAuthVectors(): array
    {
        return self::vectors('channel_auth');
    }

    public function userAuthVectors(): array
    {
        return self::vectors('user_auth');
    }

    public function restVectors(): array
    {
        return self::vectors('rest');
    }

    public function webhookVectors(): array
    {
        return self::vectors('webhook');
    }

    public function encryptedVectors(): array
    {
        return self::vectors('encrypted');
    }

    /** @dataProvider channelAuthVectors */
    public function testChannelAuthSignatureMatchesVector(array $v): void
    {
        $this->assertSame(
            $v['auth'],
            Signer::channelAuth($v['key'], $v['secret'], $v['socket_id'], $v['channel'], $v['channel_data'] ?? null)
        );
    }

    /** @dataProvider channelAuthVectors */
    public function testAuthorizeChannelReturnsVectorAuth(array $v): void
    {
        // Encrypted channels need a master key for shared_secret; any valid key will do here.
        $pusher = new Pusher($v['key'], $v['secret'], '3', [
            'encryption_master_key_base64' => base64_encode(str_repeat("\x01", 32)),
        ]);
        $response = json_decode($pusher->authorizeChannel($v['channel'], $v['socket_id'], $v['channel_data'] ?? null), true);
        $this->assertSame($v['auth'], $response['auth']);
        if (isset($v['channel_data'])) {
            $this->assertSame($v['channel_data'], $response['channel_data']);
        } else {
            $this->assertArrayNotHasKey('channel_data', $response);
        }
    }

    /** @dataProvider userAuthVectors */
    public function testUserAuthSignatureMatchesVector(array $v): void
    {
        $this->assertSame($v['auth'], Signer::userAuth($v['key'], $v['secret'], $v['socket_id'], $v['user_data']));
    }

    /** @dataProvider userAuthVectors */
    public function testAuthenticateUserReturnsVectorAuthWhenItSerialisesTheSameBytes(array $v): void
    {
        $pusher = new Pusher($v['key'], $v['secret'], '3');
        $userData = json_decode($v['user_data'], true);
        $response = json_decode($pusher->authenticateUser($v['socket_id'], $userData), true);
        // Our serialisation of the vector's user_data must be byte-identical for the vector
        // signature to apply; the vectors use compact JSON with unescaped slashes.
        $this->assertSame($v['user_data'], $response['user_data']);
        $this->assertSame($v['auth'], $response['auth']);
    }

    /** @dataProvider restVectors */
    public function testRestStringToSignAndSignatureMatchVector(array $v): void
    {
        $signed = Signer::signRequest(
            $v['key'],
            $v['secret'],
            $v['method'],
            $v['path'],
            $v['params'],
            $v['body'],
            $v['timestamp']
        );
        $this->assertSame($v['string_to_sign'], Signer::stringToSign($v['method'], $v['path'], $signed));
        $this->assertSame($v['auth_signature'], $signed['auth_signature']);
        $this->assertSame((string) $v['timestamp'], $signed['auth_timestamp']);
        $this->assertSame($v['key'], $signed['auth_key']);
        $this->assertSame('1.0', $signed['auth_version']);
        if (isset($v['body_md5'])) {
            $this->assertSame($v['body_md5'], $signed['body_md5']);
        } else {
            $this->assertArrayNotHasKey('body_md5', $signed);
        }
    }

    /** @dataProvider restVectors */
    public function testBuildAuthQueryParamsMatchesVectorForBodylessRequests(array $v): void
    {
        if ($v['body'] !== null) {
            // The pusher-php-server helper has no body argument; post() adds body_md5 itself.
            $params = $v['params'] + ['body_md5' => md5($v['body'])];
        } else {
            $params = $v['params'];
        }
        $signed = Pusher::build_auth_query_params(
            $v['key'],
            $v['secret'],
            $v['method'],
            $v['path'],
            $params,
            '1.0',
            (string) $v['timestamp']
        );
        $this->assertSame($v['auth_signature'], $signed['auth_signature']);
    }

    /** @dataProvider webhookVectors */
    public function testWebhookSignatureMatchesVector(array $v): void
    {
        $this->assertSame($v['signature'], Signer::webhookSignature($v['secret'], $v['body']));
        $pusher = new Pusher($v['key'], $v['secret'], '3');
        $webhook = $pusher->webhook(['X-Pusher-Key' => $v['key'], 'X-Pusher-Signature' => $v['signature']], $v['body']);
        $this->assertSame(json_decode($v['body'])->time_ms, $webhook->get_time_ms());
    }

    /** @dataProvider encryptedVectors */
    public function testSharedSecretMatchesVector(array $v): void
    {
        $crypto = new PusherCrypto(PusherCrypto::parse_master_key($v['master_key_base64']));
        $this->assertSame($v['shared_secret_base64'], base64_encode($crypto->generate_shared_secret($v['channel'])));

        $pusher = new Pusher('key12345', 'secret', '3', ['encryption_master_key_base64' => $v['master_key_base64']]);
        $response = json_decode($pusher->authorizeChannel($v['channel'], '1.2'), true);
        $this->assertSame($v['shared_secret_base64'], $response['shared_secret']);
    }
}
