<?php

// A verified (and, for encrypted channels, decrypted) webhook delivery (PROTOCOL.md §15).

declare(strict_types=1);

namespace Realtime;

/**
 * Same accessors as Pusher\Webhook: the creation time and the events as json_decode objects;
 * plus the request id Realtime sends, to ignore a request delivered twice.
 */
final class Webhook
{
    /** @param object[] $events */
    public function __construct(
        private int $time_ms,
        private array $events,
        private ?string $id = null
    ) {
    }

    /**
     * X-Realtime-Webhook-Id: the same for every attempt of one request (retries, a delivery by
     * another node after the first died, a re-queue from the dead letters), so a receiver that
     * remembers the ids it processed can skip repeats. Null when the header is absent (Pusher).
     */
    public function get_id(): ?string
    {
        return $this->id;
    }

    public function getId(): ?string
    {
        return $this->id;
    }

    /** Unix time in milliseconds at which the server created the delivery (kept on retries). */
    public function get_time_ms(): int
    {
        return $this->time_ms;
    }

    /** @return object[] each with `name`, `channel` and the fields of that event kind */
    public function get_events(): array
    {
        return $this->events;
    }

    /** camelCase aliases. */
    public function getTimeMs(): int
    {
        return $this->time_ms;
    }

    /** @return object[] */
    public function getEvents(): array
    {
        return $this->events;
    }
}
