<?php

// The server could not be reached (refused, DNS failure, timeout, reset).

declare(strict_types=1);

namespace Realtime;

/**
 * A network-level failure. It extends ApiErrorException with status 0, which is what
 * pusher-php-server throws in the same situation, so existing handlers still catch it.
 */
class ConnectionException extends ApiErrorException
{
    private int $curlErrno;

    public function __construct(string $message, int $curlErrno = 0, ?\Throwable $previous = null)
    {
        parent::__construct($message, 0, $previous);
        $this->curlErrno = $curlErrno;
    }

    /** The libcurl error number (CURLE_*), e.g. 7 for "could not connect". */
    public function getCurlErrno(): int
    {
        return $this->curlErrno;
    }
}
