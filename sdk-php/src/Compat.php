<?php

// Optional aliases that let code written against pusher-php-server's class names (for
// example Laravel's PusherBroadcaster) run on this SDK unchanged.

declare(strict_types=1);

namespace Realtime;

final class Compat
{
    /** Our class => the pusher-php-server name it stands in for. */
    private const ALIASES = [
        Pusher::class => 'Pusher\\Pusher',
        PusherException::class => 'Pusher\\PusherException',
        ApiErrorException::class => 'Pusher\\ApiErrorException',
        PusherCrypto::class => 'Pusher\\PusherCrypto',
        Webhook::class => 'Pusher\\Webhook',
    ];

    private function __construct()
    {
    }

    /**
     * Makes Pusher\Pusher, Pusher\ApiErrorException, ... names for our classes. Call it once,
     * early (e.g. in a service provider's register()), with pusher/pusher-php-server NOT
     * installed. Returns the aliases created; a name that already exists is left alone, so the
     * official package wins if it is still installed.
     *
     * @return string[]
     */
    public static function aliasPusherNamespace(): array
    {
        $created = [];
        foreach (self::ALIASES as $ours => $theirs) {
            // autoload=false: do not trigger Composer to load the official class.
            if (class_exists($theirs, false)) {
                continue;
            }
            class_alias($ours, $theirs);
            $created[] = $theirs;
        }
        return $created;
    }
}
