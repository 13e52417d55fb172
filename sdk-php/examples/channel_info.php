<?php

// Inspect channels: php examples/channel_info.php [presence-channel]

declare(strict_types=1);

require __DIR__ . '/config.php';

$pusher = realtime_client();

$channels = $pusher->getChannels()->channels; // array: name => object
echo 'occupied channels: ', implode(', ', array_keys($channels)), "\n";

if (isset($argv[1])) {
    $info = $pusher->getChannelInfo($argv[1], ['info' => 'user_count']);
    echo "{$argv[1]}: ", $info->occupied ? 'occupied' : 'empty', ", users: ", $info->user_count ?? 0, "\n";
    foreach ($pusher->getPresenceUsers($argv[1])->users as $user) {
        echo "  member {$user->id}\n";
    }
}
