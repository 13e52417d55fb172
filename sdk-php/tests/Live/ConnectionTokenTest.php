<?php

// issueConnectionToken() against a live rtserver: a token it issues signs the connection in
// (the server lets it join its #server-to-user- channel and a granted private channel without
// the auth endpoint); one signed with another secret is refused with 4009.

declare(strict_types=1);

namespace Realtime\Tests\Live;

use Realtime\Pusher;

final class ConnectionTokenTest extends LiveTestCase
{
    /** Lines printed by tests/token_client.mjs for a connection with $token. */
    private function connect(string $token, string $channel = ''): array
    {
        $url = sprintf('ws://127.0.0.1:%d/app/%s?protocol=7&token=%s', $this->server->port, $this->server->app['key'], rawurlencode($token));
        $command = ['node', __DIR__ . '/../token_client.mjs', $url];
        if ($channel !== '') {
            $command[] = $channel;
        }
        $process = proc_open($command, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $this->server->clientEnv());
        $stdout = stream_get_contents($pipes[1]);
        $stderr = stream_get_contents($pipes[2]);
        proc_close($process);
        $lines = array_map(static fn (string $l) => json_decode($l, true), array_filter(explode("\n", (string) $stdout)));
        $this->assertNotEmpty($lines, "token_client.mjs printed nothing: $stderr");
        return $lines;
    }

    private static function events(array $lines): array
    {
        return array_map(static fn (array $l) => $l['event'] ?? ($l['closed'] ?? null ? 'closed' : '?'), $lines);
    }

    public function testIssuedTokenSignsTheConnectionInAsTheUser(): void
    {
        $user = self::unique('php-token-');
        $lines = $this->connect($this->pusher()->issueConnectionToken($user), "#server-to-user-$user");
        $this->assertSame(['pusher:connection_established', 'pusher_internal:subscription_succeeded'], self::events($lines));
    }

    public function testChannelGrantedByTheTokenNeedsNoAuthEndpoint(): void
    {
        $channel = self::unique('private-orders-');
        $token = $this->pusher()->issueConnectionToken(self::unique('u'), ['private-orders-*'], 60);
        $lines = $this->connect($token, $channel);
        $this->assertSame(['pusher:connection_established', 'pusher_internal:subscription_succeeded'], self::events($lines));
    }

    public function testTokenSignedWithAnotherSecretIsRefusedWith4009(): void
    {
        $app = $this->server->app;
        $forger = new Pusher($app['key'], 'not-the-secret', $app['id'], $this->server->clientOptions());
        $lines = $this->connect($forger->issueConnectionToken('mallory'));
        $this->assertSame('pusher:error', $lines[0]['event']);
        $this->assertSame(['code' => 4009, 'reason' => 'Token signature does not verify'], $lines[array_key_last($lines)]['closed']);
    }
}
