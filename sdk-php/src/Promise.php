<?php

// The promise the *Async methods return, with the semantics of the Guzzle promises that
// pusher-php-server returns: wait(), then(), otherwise(), getState(), cancel().

declare(strict_types=1);

namespace Realtime;

/**
 * Like GuzzleHttp\Promise\Promise: a request settles when something waits on it (its own
 * wait(), or the wait() of a promise chained from it). Callbacks given to then() never run
 * synchronously inside then(): once their promise is settled they are queued, and the queue runs
 * at the end of every wait() and at shutdown. So waiting on a promise also runs the then()
 * callbacks registered on it, and a callback added to a settled promise runs at the next wait()
 * of any promise, or when the script ends.
 */
final class Promise
{
    public const PENDING = 'pending';
    public const FULFILLED = 'fulfilled';
    public const REJECTED = 'rejected';

    private string $state = self::PENDING;
    private mixed $value = null;
    private ?\Throwable $reason = null;

    /** @var (\Closure(): mixed)|null produces the value or throws; dropped once called */
    private ?\Closure $resolver;

    /** The promise this one was chained from with then(), waited on to settle this one. */
    private ?self $parent = null;

    /** @var list<array{self, ?callable, ?callable}> then() children waiting for this to settle */
    private array $handlers = [];

    /** @var list<\Closure(): void> callbacks of settled promises, run by wait() and at shutdown */
    private static array $queue = [];

    private static bool $shutdownHookRegistered = false;

    /** @param (\Closure(): mixed)|null $resolver blocks until the result is known */
    public function __construct(?\Closure $resolver = null)
    {
        $this->resolver = $resolver;
    }

    /** A promise that is already fulfilled with $value. */
    public static function fulfilled(mixed $value): self
    {
        $promise = new self();
        $promise->resolve($value);
        return $promise;
    }

    /** A promise that is already rejected with $reason. */
    public static function rejected(\Throwable $reason): self
    {
        $promise = new self();
        $promise->reject($reason);
        return $promise;
    }

    /**
     * Blocks until settled, then runs the queued callbacks. With $unwrap, returns the value or
     * throws the rejection reason; without, returns null either way (Guzzle semantics).
     */
    public function wait(bool $unwrap = true): mixed
    {
        if ($this->state === self::PENDING) {
            if ($this->resolver !== null) {
                $resolver = $this->resolver;
                $this->resolver = null;
                try {
                    $this->resolve($resolver());
                } catch (\Throwable $e) {
                    $this->reject($e);
                }
            } elseif ($this->parent !== null) {
                $this->parent->wait(false); // settling the parent queues our callback
            }
        }
        self::runQueue();
        if ($this->state === self::PENDING) {
            $this->reject(new PusherException('Cannot wait on a promise that has nothing to wait for'));
        }
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
     * $onRejected passes through, and so does a value without $onFulfilled; a callback that
     * throws rejects the new promise; one that returns a promise passes on its outcome.
     */
    public function then(?callable $onFulfilled = null, ?callable $onRejected = null): self
    {
        $child = new self();
        $child->parent = $this;
        if ($this->state === self::PENDING) {
            $this->handlers[] = [$child, $onFulfilled, $onRejected];
        } else {
            $this->enqueue($child, $onFulfilled, $onRejected);
        }
        return $child;
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

    /**
     * Rejects a pending promise with a PusherException and forgets how to settle it (an async
     * request already on the wire is still completed by the client, its result discarded).
     */
    public function cancel(): void
    {
        if ($this->state !== self::PENDING) {
            return;
        }
        $this->resolver = null;
        $this->reject(new PusherException('Promise has been cancelled'));
    }

    private function resolve(mixed $value): void
    {
        if ($value === $this) {
            $this->reject(new PusherException('Cannot fulfill a promise with itself'));
            return;
        }
        if ($value instanceof self) {
            $value->wait(false);
            $value->state === self::FULFILLED ? $this->settle(self::FULFILLED, $value->value) : $this->reject($value->reason);
            return;
        }
        $this->settle(self::FULFILLED, $value);
    }

    private function reject(\Throwable $reason): void
    {
        $this->settle(self::REJECTED, $reason);
    }

    private function settle(string $state, mixed $result): void
    {
        if ($this->state !== self::PENDING) {
            return;
        }
        $this->state = $state;
        if ($state === self::FULFILLED) {
            $this->value = $result;
        } else {
            $this->reason = $result;
        }
        $handlers = $this->handlers;
        $this->handlers = [];
        foreach ($handlers as [$child, $onFulfilled, $onRejected]) {
            $this->enqueue($child, $onFulfilled, $onRejected);
        }
    }

    /** Queues the settling of then() child $child from this (settled) promise's outcome. */
    private function enqueue(self $child, ?callable $onFulfilled, ?callable $onRejected): void
    {
        self::$queue[] = function () use ($child, $onFulfilled, $onRejected): void {
            try {
                if ($this->state === self::FULFILLED) {
                    $child->resolve($onFulfilled === null ? $this->value : $onFulfilled($this->value));
                } elseif ($onRejected !== null) {
                    $child->resolve($onRejected($this->reason));
                } else {
                    $child->reject($this->reason);
                }
            } catch (\Throwable $e) {
                $child->reject($e);
            }
        };
        if (!self::$shutdownHookRegistered) {
            self::$shutdownHookRegistered = true;
            register_shutdown_function(static function (): void {
                self::runQueue();
            });
        }
    }

    /** Runs queued callbacks, including those queued while running, in order. */
    private static function runQueue(): void
    {
        while (($task = array_shift(self::$queue)) !== null) {
            $task();
        }
    }
}
