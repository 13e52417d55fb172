<?php

// The methods pusher-php-server's Pusher\PusherInterface declares, for code that type-hints it.

declare(strict_types=1);

namespace Realtime;

/**
 * Same methods as Pusher\PusherInterface (pusher-php-server 7.2), with this SDK's types: the
 * *Async methods return Realtime\Promise instead of a Guzzle PromiseInterface.
 * Compat::aliasPusherNamespace() makes Pusher\PusherInterface a name for it.
 */
interface PusherInterface
{
    public function getSettings(): array;

    public function trigger(string|array $channels, string $event, mixed $data, array $params = [], bool $already_encoded = false): object;

    public function triggerAsync(string|array $channels, string $event, mixed $data, array $params = [], bool $already_encoded = false): Promise;

    public function triggerBatch(array $batch = [], bool $already_encoded = false): object;

    public function triggerBatchAsync(array $batch = [], bool $already_encoded = false): Promise;

    public function getChannelInfo(string $channel, array $params = []): object;

    public function getChannels(array $params = []): object;

    public function getPresenceUsers(string $channel): object;

    public function get(string $path, array $params = [], bool $associative = false): mixed;

    public function socketAuth(string $channel, string $socket_id, ?string $custom_data = null): string;

    public function presenceAuth(string $channel, string $socket_id, string|int $user_id, mixed $user_info = null): string;

    public function webhook(array $headers, string $body): object;

    public function verifySignature(array $headers, string $body): void;

    /** @deprecated use getChannelInfo() */
    public function get_channel_info(string $channel, array $params = []): object;

    /** @deprecated use getChannels() */
    public function get_channels(array $params = []): object;

    /** @deprecated use getPresenceUsers() */
    public function get_users_info(string $channel): object;

    /** @deprecated use authorizeChannel() */
    public function socket_auth(string $channel, string $socket_id, ?string $custom_data = null): string;

    /** @deprecated use authorizePresenceChannel() */
    public function presence_auth(string $channel, string $socket_id, string|int $user_id, mixed $user_info = null): string;

    /** @deprecated use verifySignature() */
    public function ensure_valid_signature(array $headers, string $body): void;
}
