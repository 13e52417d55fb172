<?php

// The status and body of an HTTP API response.

declare(strict_types=1);

namespace Realtime\Http;

final class Response
{
    public function __construct(
        public readonly int $status,
        public readonly string $body
    ) {
    }
}
