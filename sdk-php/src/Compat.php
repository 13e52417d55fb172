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
        PusherInterface::class => 'Pusher\\PusherInterface',
        PusherException::class => 'Pusher\\PusherException',
        ApiErrorException::class => 'Pusher\\ApiErrorException',
        PusherCrypto::class => 'Pusher\\PusherCrypto',
        Webhook::class => 'Pusher\\Webhook',
    ];

    private function __construct()
    {
    }

    /**
     * Makes Pusher\Pusher, Pusher\PusherInterface, Pusher\ApiErrorException, ... names for our
     * classes, and returns the names it created.
     *
     * It never competes with pusher/pusher-php-server: if Pusher\Pusher can be loaded (the
     * package is installed, loaded yet or not; this call asks the autoloaders, which loads it),
     * nothing is aliased and [] is returned, so the official package keeps all its names and
     * the two never mix. Otherwise every name is aliased, except one that something else
     * already defined. Call it once, early (e.g. in a service provider's register()).
     *
     * @return string[]
     */
    public static function aliasPusherNamespace(): array
    {
        if (class_exists('Pusher\\Pusher')) {
            return [];
        }
        $created = [];
        foreach (self::ALIASES as $ours => $theirs) {
            if (class_exists($theirs, false) || interface_exists($theirs, false)) {
                continue;
            }
            class_alias($ours, $theirs);
            $created[] = $theirs;
        }
        return $created;
    }
}
