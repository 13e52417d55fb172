<?php

// An HTTP API call that did not succeed: a non-200 status, or no response at all.

declare(strict_types=1);

namespace Realtime;

/**
 * Mirrors Pusher\ApiErrorException: the message is the response body and the code is the HTTP
 * status (0 when the server could not be reached; see ConnectionException).
 */
class ApiErrorException extends PusherException
{
    private int $status;
    private string $body;

    public function __construct(string $body, int $status = 0, ?\Throwable $previous = null)
    {
        parent::__construct($body, $status, $previous);
        $this->status = $status;
        $this->body = $body;
    }

    /** HTTP status of the response, or 0 when there was no response. */
    public function getStatus(): int
    {
        return $this->status;
    }

    /** Raw response body as the server sent it (usually `{"error":"..."}`). */
    public function getBody(): string
    {
        return $this->body;
    }

    /** "(Status 404) {body}", as pusher-php-server's ApiErrorException prints itself. */
    public function __toString(): string
    {
        return "(Status {$this->getCode()}) {$this->getMessage()}";
    }
}
