<?php

// Several events in one request, then two requests in flight at once:
//   php examples/batch_and_async.php <channel>

declare(strict_types=1);

require __DIR__ . '/config.php';

$channel = $argv[1] ?? 'my-channel';
$pusher = realtime_client();

// One HTTP request, up to 10 events.
$pusher->triggerBatch([
    ['channel' => $channel, 'name' => 'batch-1', 'data' => ['n' => 1]],
    ['channel' => $channel, 'name' => 'batch-2', 'data' => ['n' => 2]],
]);

// Async calls return a promise; the requests run concurrently until wait().
$first = $pusher->triggerAsync($channel, 'async-1', ['n' => 3]);
$second = $pusher->triggerAsync($channel, 'async-2', ['n' => 4]);
$first->wait();
$second->wait();
echo "sent 4 events to $channel\n";
