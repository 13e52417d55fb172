<?php

// The auth endpoint pusher-js calls for private, presence and encrypted channels and for
// signin(). Try it with the built-in server: php -S 127.0.0.1:8080 examples/auth_endpoint.php
//   POST /pusher/auth       socket_id=..&channel_name=..   (channelAuthorization.endpoint)
//   POST /pusher/user-auth  socket_id=..                   (userAuthentication.endpoint)
// A real application checks its own session here before signing anything.

declare(strict_types=1);

require __DIR__ . '/config.php';

use Realtime\PusherException;

$pusher = realtime_client();
$path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH);
$socketId = (string) ($_POST['socket_id'] ?? '');

// Stand-in for "the logged-in user" of your application.
$user = ['id' => 'user-1', 'user_info' => ['name' => 'Ada Lovelace']];

header('Content-Type: application/json');
try {
    if ($path === '/pusher/user-auth') {
        echo $pusher->authenticateUser($socketId, $user);
        return true;
    }
    $channel = (string) ($_POST['channel_name'] ?? '');
    if (str_starts_with($channel, 'presence-')) {
        echo $pusher->authorizePresenceChannel($channel, $socketId, $user['id'], $user['user_info']);
    } else {
        // private-encrypted-* responses also carry shared_secret (needs the master key).
        echo $pusher->authorizeChannel($channel, $socketId);
    }
} catch (PusherException $e) {
    http_response_code(403);
    echo json_encode(['error' => $e->getMessage()]);
}
return true;
