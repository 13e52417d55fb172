<?php

// Realtime\Promise settles like a Guzzle promise (tests/Parity compares the two directly).

declare(strict_types=1);

namespace Realtime\Tests\Unit;

use PHPUnit\Framework\TestCase;
use Realtime\ApiErrorException;
use Realtime\ConnectionException;
use Realtime\Promise;
use Realtime\PusherException;

final class PromiseTest extends TestCase
{
    public function testWaitingOnAPromiseRunsTheCallbacksChainedFromIt(): void
    {
        $seen = [];
        $promise = new Promise(static fn () => 'value');
        $chained = $promise->then(function (string $v) use (&$seen) {
            $seen[] = $v;
            return strtoupper($v);
        });
        $this->assertSame([], $seen, 'then() never runs its callback at once');
        $promise->wait();
        $this->assertSame(['value'], $seen);
        $this->assertSame(Promise::FULFILLED, $chained->getState());
        $this->assertSame('VALUE', $chained->wait());
    }

    public function testThenOnASettledPromiseRunsAtTheNextWait(): void
    {
        $ran = false;
        $settled = Promise::fulfilled(1);
        $chained = $settled->then(function () use (&$ran) {
            $ran = true;
        });
        $this->assertFalse($ran);
        $this->assertSame(Promise::PENDING, $chained->getState());
        (new Promise(static fn () => null))->wait();
        $this->assertTrue($ran);
        $this->assertSame(Promise::FULFILLED, $chained->getState());
    }

    public function testCallbackThatThrowsRejectsAndOtherwiseRecovers(): void
    {
        $failed = Promise::fulfilled(1)->then(static function () {
            throw new \RuntimeException('boom');
        });
        $this->assertSame('recovered boom', $failed->otherwise(static fn (\Throwable $e) => 'recovered ' . $e->getMessage())->wait());
        $this->assertSame(Promise::REJECTED, $failed->getState());
        $this->assertNull($failed->wait(false));
    }

    public function testCallbackReturningAPromisePassesOnItsOutcome(): void
    {
        $outer = Promise::fulfilled(1)->then(static fn () => new Promise(static fn () => 'inner'));
        $this->assertSame('inner', $outer->wait());
    }

    public function testCancelRejectsAPendingPromise(): void
    {
        $called = false;
        $promise = new Promise(function () use (&$called) {
            $called = true;
            return 1;
        });
        $promise->cancel();
        $this->assertSame(Promise::REJECTED, $promise->getState());
        $this->expectExceptionMessage('Promise has been cancelled');
        try {
            $promise->wait();
        } finally {
            $this->assertFalse($called);
        }
    }

    public function testApiErrorExceptionPrintsStatusAndBodyLikePusherPhpServer(): void
    {
        $this->assertSame('(Status 404) {"error":"Unknown app"}', (string) new ApiErrorException('{"error":"Unknown app"}', 404));
        $this->assertSame('(Status 0) down', (string) new ConnectionException('down', 7));
        $this->assertInstanceOf(PusherException::class, new ApiErrorException('x', 500));
    }
}
