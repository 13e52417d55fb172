<?php

// Receive webhooks: php -S 127.0.0.1:8081 examples/webhook.php, then point the app's webhook
// URL at it. Invalid signatures get 401; valid deliveries are logged to stderr.

declare(strict_types=1);

require __DIR__ . '/config.php';

use Realtime\PusherException;

$pusher = realtime_client();
try {
    $webhook = $pusher->webhook(getallheaders(), (string) file_get_contents('php://input'));
} catch (PusherException $e) {
    http_response_code(401);
    return true;
}
// A request can arrive twice (a retry after a lost answer): $webhook->get_id() names it.
foreach ($webhook->get_events() as $event) {
    // e.g. channel_occupied, channel_vacated, member_added, member_removed, client_event
    error_log(sprintf('webhook %s on %s', $event->name, $event->channel ?? '-'));
}
echo '{}';
return true;
