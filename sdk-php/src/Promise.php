<?php

// A minimal promise for the *Async methods, shaped like the Guzzle promises that
// pusher-php-server returns: wait(), then(), otherwise(), getState().

declare(strict_types=1);

namespace Realtime;

/**
 * Settles lazily: the underlying request runs in the background (curl_multi) and wait()
 * blocks until it is done. Callbacks given to then() run when the chained promise is waited on.
 */
final class Promise
{
    public const PENDING = 'pending';
    public const FULFILLED = 'fulfilled';
    public const REJECTED = 'rejected';

    private string $state = self::PENDING;
    private mixed $value = null;
    private ?\Throwable $reason = null;
    /** @var (\Closure(): mixed)|null produces the value or throws; dropped once settled */
    private ?\Closure $resolver;

    /** @param \Closure(): mixed $resolver blocks until the result is known */
    public function __construct(\Closure $resolver)
    {
        $this->resolver = $resolver;
    }

    /** A promise that is already fulfilled with $value. */
    public static function fulfilled(mixed $value): self
    {
        return new self(static fn () => $value);
    }

    /** A promise that is already rejected with $reason. */
    public static function rejected(\Throwable $reason): self
    {
        return new self(static function () use ($reason): never {
            throw $reason;
        });
    }

    /**
     * Blocks until settled. With $unwrap, returns the value or throws the rejection reason;
     * without, returns null either way (Guzzle semantics).
     */
    public function wait(bool $unwrap = true): mixed
    {
        $this->settle();
        if (!$unwrap) {
            return null;
        }
        if ($this->state === self::REJECTED) {
            throw $this->reason;
        }
        return $this->value;
    }

    /**
     * Returns a new promise for the result of $onFulfilled / $onRejected. A rejection without
     * $onRejected passes through; a callback that throws rejects the new promise.
     */
    public function then(?callable $onFulfilled = null, ?callable $onRejected = null): self
    {
        return new self(function () use ($onFulfilled, $onRejected) {
            try {
                $value = $this->wait();
            } catch (\Throwable $e) {
                if ($onRejected === null) {
                    throw $e;
                }
                return $onRejected($e);
            }
            return $onFulfilled === null ? $value : $onFulfilled($value);
        });
    }

    /** Shorthand for then(null, $onRejected). */
    public function otherwise(callable $onRejected): self
    {
        return $this->then(null, $onRejected);
    }

    /** One of PENDING, FULFILLED, REJECTED. */
    public function getState(): string
    {
        return $this->state;
    }

    private function settle(): void
    {
        if ($this->resolver === null) {
            return;
        }
        $resolver = $this->resolver;
        $this->resolver = null;
        try {
            $value = $resolver();
            // A callback may return another promise: adopt its outcome.
            $this->value = $value instanceof self ? $value->wait() : $value;
            $this->state = self::FULFILLED;
        } catch (\Throwable $e) {
            $this->reason = $e;
            $this->state = self::REJECTED;
        }
    }
}
