<?php

// PHP side of tests/subscriber.mjs: spawns the pusher-js client and reads its JSON lines.

declare(strict_types=1);

namespace Realtime\Tests\Support;

final class Subscriber
{
    /** @var resource */
    private $process;
    /** @var array<int, resource> */
    private array $pipes;
    private string $buffer = '';
    private string $stderr = '';
    /** @var array<int, array> every line received so far, in order */
    public array $lines = [];

    public function __construct(string $script, array $spec, array $env)
    {
        $process = proc_open(
            ['node', $script, json_encode($spec, JSON_THROW_ON_ERROR)],
            [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']],
            $pipes,
            null,
            $env
        );
        if (!is_resource($process)) {
            throw new \RuntimeException('Cannot start node subscriber');
        }
        $this->process = $process;
        $this->pipes = $pipes;
        stream_set_blocking($pipes[1], false);
        stream_set_blocking($pipes[2], false);
    }

    /** Waits until subscriptions and sign-in are done; returns the socket ID. */
    public function waitReady(float $seconds = 10.0): string
    {
        $this->waitFor(static fn (array $l) => $l['type'] === 'ready', $seconds, 'ready');
        return $this->socketId();
    }

    public function socketId(): string
    {
        foreach ($this->lines as $line) {
            if ($line['type'] === 'connected') {
                return $line['socket_id'];
            }
        }
        throw new \RuntimeException('Subscriber is not connected');
    }

    /** Waits for an event named $event on $channel and returns its line. */
    public function waitEvent(string $channel, string $event, float $seconds = 5.0): array
    {
        return $this->waitFor(
            static fn (array $l) => $l['type'] === 'event' && $l['channel'] === $channel && $l['event'] === $event,
            $seconds,
            "event $event on $channel"
        );
    }

    /** Events received on $channel so far (after pumping for $seconds). */
    public function eventsOn(string $channel, float $seconds = 0.0): array
    {
        $this->pump($seconds);
        return array_values(array_filter(
            $this->lines,
            static fn (array $l) => $l['type'] === 'event' && $l['channel'] === $channel
        ));
    }

    /**
     * Returns the first line (already received or arriving within $seconds) that satisfies
     * $predicate; throws with everything received so far on timeout.
     */
    public function waitFor(callable $predicate, float $seconds, string $what): array
    {
        $deadline = microtime(true) + $seconds;
        $checked = 0;
        for (;;) {
            for (; $checked < count($this->lines); $checked++) {
                if ($this->lines[$checked]['type'] === 'fatal') {
                    throw new \RuntimeException('Subscriber crashed: ' . $this->lines[$checked]['message']);
                }
                if ($predicate($this->lines[$checked])) {
                    return $this->lines[$checked];
                }
            }
            $left = $deadline - microtime(true);
            if ($left <= 0) {
                throw new \RuntimeException(sprintf(
                    "Timed out waiting for %s. Received:\n%s\nstderr:\n%s",
                    $what,
                    implode("\n", array_map('json_encode', $this->lines)),
                    $this->stderr
                ));
            }
            $this->pump(min($left, 0.1));
        }
    }

    /** Reads whatever arrives within $seconds. */
    public function pump(float $seconds): void
    {
        $deadline = microtime(true) + $seconds;
        do {
            $read = [$this->pipes[1], $this->pipes[2]];
            $write = $except = null;
            $left = max(0.0, $deadline - microtime(true));
            if (@stream_select($read, $write, $except, (int) $left, (int) (fmod($left, 1.0) * 1e6)) > 0) {
                foreach ($read as $stream) {
                    $chunk = (string) fread($stream, 65536);
                    if ($stream === $this->pipes[2]) {
                        $this->stderr .= $chunk;
                        continue;
                    }
                    $this->buffer .= $chunk;
                }
                while (($nl = strpos($this->buffer, "\n")) !== false) {
                    $line = substr($this->buffer, 0, $nl);
                    $this->buffer = substr($this->buffer, $nl + 1);
                    if ($line !== '') {
                        $this->lines[] = json_decode($line, true) ?? ['type' => 'garbage', 'raw' => $line];
                    }
                }
            }
        } while (microtime(true) < $deadline);
    }

    public function close(): void
    {
        if (!is_resource($this->process)) {
            return;
        }
        fclose($this->pipes[0]); // the helper disconnects and exits when stdin closes
        $deadline = microtime(true) + 2;
        while (proc_get_status($this->process)['running'] && microtime(true) < $deadline) {
            usleep(20000);
        }
        if (proc_get_status($this->process)['running']) {
            proc_terminate($this->process, SIGKILL);
        }
        fclose($this->pipes[1]);
        fclose($this->pipes[2]);
        proc_close($this->process);
    }

    public function __destruct()
    {
        $this->close();
    }
}
