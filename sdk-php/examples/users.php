<?php

// Message one user on all their connections, then disconnect them:
//   php examples/users.php <user-id> [terminate]

declare(strict_types=1);

require __DIR__ . '/config.php';

$userId = $argv[1] ?? 'user-1';
$pusher = realtime_client();
$pusher->sendToUser($userId, 'account-notice', ['text' => 'Your export is ready']);
echo "sent to $userId\n";
if (($argv[2] ?? '') === 'terminate') {
    $pusher->terminateUserConnections($userId);
    echo "terminated $userId\n";
}
