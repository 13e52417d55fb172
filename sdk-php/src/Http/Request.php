<?php

// One HTTP API request, already signed.

declare(strict_types=1);

namespace Realtime\Http;

final class Request
{
    /**
     * @param string      $url     full URL including the signed query string
     * @param string      $logPath the path without the query, safe to log (no signature)
     * @param string[]    $headers "Name: value" lines
     */
    public function __construct(
        public readonly string $method,
        public readonly string $url,
        public readonly string $logPath,
        public readonly ?string $body,
        public readonly array $headers
    ) {
    }

    /** GETs have no side effects on the server, so they may be retried after network errors. */
    public function isIdempotent(): bool
    {
        return $this->method === 'GET';
    }
}
