<?php

// A size or count limit the server enforces, caught before sending.

declare(strict_types=1);

namespace Realtime;

/**
 * The request was not sent because it breaks a limit the server would refuse it for: event
 * data over max_data_size (status 413), or a channel name, event name or batch over its limit
 * (status 400). pusher-php-server leaves these checks to the server, whose answer is an
 * ApiErrorException; this is one too, with the status the server would give, so handlers such
 * as Laravel's `catch (ApiErrorException $e)` in PusherBroadcaster treat both alike.
 */
class LimitExceededException extends ApiErrorException
{
}
