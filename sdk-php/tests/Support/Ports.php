<?php

// Loopback port helpers for tests that start servers.

declare(strict_types=1);

namespace Realtime\Tests\Support;

final class Ports
{
    /** A TCP port on 127.0.0.1 that nothing listens on right now. */
    public static function free(): int
    {
        $socket = stream_socket_server('tcp://127.0.0.1:0', $errno, $error);
        if ($socket === false) {
            throw new \RuntimeException("Cannot bind a loopback port: $error");
        }
        $name = stream_socket_get_name($socket, false);
        fclose($socket);
        return (int) substr($name, strrpos($name, ':') + 1);
    }

    /** Waits until something accepts connections on $port; throws after $seconds. */
    public static function waitListening(int $port, float $seconds = 10.0): void
    {
        $deadline = microtime(true) + $seconds;
        while (microtime(true) < $deadline) {
            $conn = @stream_socket_client("tcp://127.0.0.1:$port", $errno, $error, 0.2);
            if ($conn !== false) {
                fclose($conn);
                return;
            }
            usleep(20000);
        }
        throw new \RuntimeException("Nothing listens on 127.0.0.1:$port after {$seconds}s");
    }
}
