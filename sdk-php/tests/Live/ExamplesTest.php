<?php

// The scripts in examples/ (the ones the README shows) run against the live server.

declare(strict_types=1);

namespace Realtime\Tests\Live;

use Realtime\Signer;
use Realtime\Tests\Support\PhpServer;

final class ExamplesTest extends LiveTestCase
{
    /** Runs examples/$script with $args; returns [exit code, stdout, stderr]. */
    private function runExample(string $script, array $args = []): array
    {
        $command = array_merge([PHP_BINARY, __DIR__ . '/../../examples/' . $script], $args);
        $process = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $this->server->clientEnv());
        $stdout = stream_get_contents($pipes[1]);
        $stderr = stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        return [proc_close($process), $stdout, $stderr];
    }

    private static function post(string $url, string $body, array $headers): array
    {
        $ch = curl_init($url);
        curl_setopt_array($ch, [
            CURLOPT_POST => true,
            CURLOPT_POSTFIELDS => $body,
            CURLOPT_HTTPHEADER => $headers,
            CURLOPT_RETURNTRANSFER => true,
        ]);
        $response = (string) curl_exec($ch);
        $status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        curl_close($ch);
        return [$status, $response];
    }

    public function testTriggerExampleDelivers(): void
    {
        $channel = self::unique('example-');
        $sub = $this->subscribe([$channel]);
        [$code, $out, $err] = $this->runExample('trigger.php', [$channel, 'greeting', '{"message":"hello world"}']);
        $this->assertSame(0, $code, $err);
        $this->assertSame("triggered: {}\n", $out);
        $this->assertSame(['message' => 'hello world'], $sub->waitEvent($channel, 'greeting')['data']);
    }

    public function testBatchAndAsyncExampleDeliversFourEvents(): void
    {
        $channel = self::unique('example-batch-');
        $sub = $this->subscribe([$channel]);
        [$code, , $err] = $this->runExample('batch_and_async.php', [$channel]);
        $this->assertSame(0, $code, $err);
        foreach (['batch-1' => 1, 'batch-2' => 2, 'async-1' => 3, 'async-2' => 4] as $event => $n) {
            $this->assertSame(['n' => $n], $sub->waitEvent($channel, $event)['data']);
        }
    }

    public function testChannelInfoExampleListsPresenceMembers(): void
    {
        $channel = self::unique('presence-example-');
        $this->subscribe([$channel], null, ['user_id' => 'member-7']);
        [$code, $out, $err] = $this->runExample('channel_info.php', [$channel]);
        $this->assertSame(0, $code, $err);
        $this->assertStringContainsString("$channel: occupied, users: 1", $out);
        $this->assertStringContainsString('member member-7', $out);
    }

    public function testUsersExampleSendsThenTerminates(): void
    {
        $id = self::unique('example-user-');
        $sub = $this->subscribe([], ['id' => $id]);
        [$code, $out, $err] = $this->runExample('users.php', [$id, 'terminate']);
        $this->assertSame(0, $code, $err);
        $this->assertSame("sent to $id\nterminated $id\n", $out);
        $this->assertSame(['text' => 'Your export is ready'], $sub->waitEvent("#server-to-user-$id", 'account-notice')['data']);
        $sub->waitFor(static fn ($l) => $l['type'] === 'state' && $l['current'] !== 'connected', 5.0, 'disconnect');
    }

    public function testAuthEndpointExampleSignsLikePusherJsExpects(): void
    {
        $endpoint = new PhpServer(__DIR__ . '/../../examples/auth_endpoint.php', $this->server->clientEnv());
        $app = $this->server->app;
        $form = ['Content-Type: application/x-www-form-urlencoded'];

        [$status, $body] = self::post($endpoint->url() . '/pusher/auth', 'socket_id=1.2&channel_name=private-x', $form);
        $this->assertSame(200, $status);
        $this->assertSame(['auth' => Signer::channelAuth($app['key'], $app['secret'], '1.2', 'private-x')], json_decode($body, true));

        [, $body] = self::post($endpoint->url() . '/pusher/auth', 'socket_id=1.2&channel_name=presence-x', $form);
        $presence = json_decode($body, true);
        $this->assertSame('{"user_id":"user-1","user_info":{"name":"Ada Lovelace"}}', $presence['channel_data']);

        [, $body] = self::post($endpoint->url() . '/pusher/auth', 'socket_id=1.2&channel_name=private-encrypted-x', $form);
        $this->assertArrayHasKey('shared_secret', json_decode($body, true));

        [, $body] = self::post($endpoint->url() . '/pusher/user-auth', 'socket_id=1.2', $form);
        $user = json_decode($body, true);
        $this->assertSame(Signer::userAuth($app['key'], $app['secret'], '1.2', $user['user_data']), $user['auth']);

        [$status] = self::post($endpoint->url() . '/pusher/auth', 'socket_id=bad&channel_name=private-x', $form);
        $this->assertSame(403, $status);
        $endpoint->stop();
    }

    public function testWebhookExampleAcceptsSignedAndRejectsForged(): void
    {
        $receiver = new PhpServer(__DIR__ . '/../../examples/webhook.php', $this->server->clientEnv());
        $app = $this->server->app;
        $body = '{"time_ms":1,"events":[{"name":"channel_occupied","channel":"a"}]}';
        $signed = ['Content-Type: application/json', 'X-Pusher-Key: ' . $app['key'],
                   'X-Pusher-Signature: ' . Signer::webhookSignature($app['secret'], $body)];
        $this->assertSame(200, self::post($receiver->url(), $body, $signed)[0]);
        $forged = ['Content-Type: application/json', 'X-Pusher-Key: ' . $app['key'], 'X-Pusher-Signature: ' . str_repeat('0', 64)];
        $this->assertSame(401, self::post($receiver->url(), $body, $forged)[0]);
        $receiver->stop();
    }
}
