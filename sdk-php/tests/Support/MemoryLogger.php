<?php

// A PSR-3-shaped logger that keeps records in memory, for asserting on what the SDK logs.

declare(strict_types=1);

namespace Realtime\Tests\Support;

final class MemoryLogger
{
    /** @var array<int, array{level: string, message: string, context: array}> */
    public array $records = [];

    public function log($level, $message, array $context = []): void
    {
        $this->records[] = ['level' => (string) $level, 'message' => (string) $message, 'context' => $context];
    }

    /** Everything logged, flattened to one string, to search for leaked secrets. */
    public function dump(): string
    {
        return json_encode($this->records, JSON_UNESCAPED_SLASHES);
    }
}
