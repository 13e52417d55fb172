<?php

// Base exception of the SDK: invalid input, configuration or data that cannot be encoded.

declare(strict_types=1);

namespace Realtime;

/**
 * Thrown for every error the SDK raises. Mirrors Pusher\PusherException so that
 * `catch (PusherException $e)` blocks keep working after switching namespaces.
 */
class PusherException extends \Exception
{
}
