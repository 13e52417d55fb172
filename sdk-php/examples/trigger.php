<?php

// Publish an event: php examples/trigger.php <channel> <event> '<json data>'

declare(strict_types=1);

require __DIR__ . '/config.php';

use Realtime\ApiErrorException;

[$script, $channel, $event, $json] = $argv + [1 => 'my-channel', 2 => 'my-event', 3 => '{"message":"hello world"}'];

$pusher = realtime_client();
try {
    // Arrays are JSON-encoded by the SDK; pass the socket_id of the sender to skip it:
    // $pusher->trigger($channel, $event, $data, ['socket_id' => $socketId]);
    $result = $pusher->trigger($channel, $event, json_decode($json, true));
    echo 'triggered: ', json_encode($result), "\n";
} catch (ApiErrorException $e) {
    fwrite(STDERR, "HTTP {$e->getStatus()}: {$e->getBody()}\n");
    exit(1);
}
