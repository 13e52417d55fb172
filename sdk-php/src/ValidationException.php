<?php

// Input rejected by the SDK before anything was sent (PROTOCOL.md §5.1, §14.3, §16).

declare(strict_types=1);

namespace Realtime;

/**
 * Thrown when an argument would be refused by the server anyway (bad channel name, too many
 * channels, oversized data, malformed socket ID, ...). Nothing has been sent when it is raised.
 */
class ValidationException extends PusherException
{
}
