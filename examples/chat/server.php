<?php

// The chat demo's backend, for PHP's built-in server:
//   php -S 127.0.0.1:8000 examples/chat/server.php
// It serves the two pages and their scripts, signs presence-channel subscriptions with
// sdk-php, and publishes chat messages with trigger(). Settings come from the environment
// (scripts/demo sets them): RT_HOST, RT_PORT (the Realtime server), RT_APP_ID, RT_APP_KEY,
// RT_APP_SECRET.
//
//   GET  /                 links to both pages
//   GET  /sdk-js.html      the room with sdk-js (window.Realtime)
//   GET  /echo.html        the room with laravel-echo + pusher-js
//   GET  /config.js        window.CHAT = {key, wsHost, wsPort}
//   GET  /vendor/...       realtime.global.min.js, pusher.min.js, echo.iife.js
//   POST /auth             socket_id, channel_name, user_id, name -> presence signature
//   POST /messages         {"user_id", "name", "text"} -> trigger('presence-chat', 'message')
//
// A demo shortcut: the browser says who it is (user_id, name). A real application takes the
// user from its own session here and never signs a name the browser chose.

declare(strict_types=1);

require __DIR__ . '/../../sdk-php/autoload.php';

use Realtime\Pusher;
use Realtime\PusherException;

const CHANNEL = 'presence-chat';
const MAX_TEXT = 500;

function pusher(): Pusher
{
    return new Pusher(
        (string) getenv('RT_APP_KEY'),
        (string) getenv('RT_APP_SECRET'),
        (string) getenv('RT_APP_ID'),
        ['host' => getenv('RT_HOST') ?: '127.0.0.1', 'port' => (int) (getenv('RT_PORT') ?: 6001), 'scheme' => 'http'],
    );
}

function reply(int $status, array $body): bool
{
    http_response_code($status);
    header('Content-Type: application/json');
    echo json_encode($body);
    return true;
}

function serve_file(string $file, string $type): bool
{
    if (!is_file($file)) {
        return reply(404, ['error' => 'missing ' . basename($file) . ': run scripts/demo (it installs and builds them)']);
    }
    header("Content-Type: $type");
    readfile($file);
    return true;
}

$method = $_SERVER['REQUEST_METHOD'] ?? 'GET';
$path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH) ?: '/';
$root = dirname(__DIR__, 2);
$vendor = [
    '/vendor/realtime.global.min.js' => "$root/sdk-js/dist/realtime.global.min.js",
    '/vendor/pusher.min.js' => __DIR__ . '/node_modules/pusher-js/dist/web/pusher.min.js',
    '/vendor/echo.iife.js' => __DIR__ . '/node_modules/laravel-echo/dist/echo.iife.js',
];

if ($method === 'GET' && in_array($path, ['/', '/sdk-js.html', '/echo.html', '/chat.js', '/chat.css'], true)) {
    $file = __DIR__ . '/public' . ($path === '/' ? '/index.html' : $path);
    $types = ['html' => 'text/html; charset=utf-8', 'js' => 'text/javascript', 'css' => 'text/css'];
    return serve_file($file, $types[pathinfo($file, PATHINFO_EXTENSION)]);
}
if ($path === '/favicon.ico') {
    http_response_code(204);
    return true;
}
if ($method === 'GET' && isset($vendor[$path])) {
    return serve_file($vendor[$path], 'text/javascript');
}
if ($method === 'GET' && $path === '/config.js') {
    header('Content-Type: text/javascript');
    echo 'window.CHAT = ' . json_encode([
        'key' => getenv('RT_APP_KEY'),
        'wsHost' => getenv('RT_PUBLIC_HOST') ?: (getenv('RT_HOST') ?: '127.0.0.1'),
        'wsPort' => (int) (getenv('RT_PORT') ?: 6001),
    ]) . ";\n";
    return true;
}
if ($method === 'POST' && $path === '/auth') {
    $socketId = (string) ($_POST['socket_id'] ?? '');
    $channel = (string) ($_POST['channel_name'] ?? '');
    $userId = (string) ($_POST['user_id'] ?? '');
    $name = trim((string) ($_POST['name'] ?? ''));
    if ($channel !== CHANNEL || !preg_match('/^[A-Za-z0-9-]{1,64}$/', $userId) || $name === '' || mb_strlen($name) > 40) {
        return reply(403, ['error' => 'only presence-chat, with a user_id and a name of 1 to 40 characters']);
    }
    try {
        header('Content-Type: application/json');
        echo pusher()->authorizePresenceChannel($channel, $socketId, $userId, ['id' => $userId, 'name' => $name]);
        return true;
    } catch (PusherException $e) {
        return reply(403, ['error' => $e->getMessage()]);
    }
}
if ($method === 'POST' && $path === '/messages') {
    $in = json_decode((string) file_get_contents('php://input'), true);
    $text = is_array($in) ? trim((string) ($in['text'] ?? '')) : '';
    $name = is_array($in) ? trim((string) ($in['name'] ?? '')) : '';
    $userId = is_array($in) ? (string) ($in['user_id'] ?? '') : '';
    if ($text === '' || mb_strlen($text) > MAX_TEXT || $name === '' || $userId === '') {
        return reply(422, ['error' => 'text (1 to ' . MAX_TEXT . ' characters), name and user_id are required']);
    }
    try {
        pusher()->trigger(CHANNEL, 'message', ['user_id' => $userId, 'name' => $name, 'text' => $text, 'at' => time()]);
        return reply(200, ['ok' => true]);
    } catch (PusherException $e) {
        return reply(502, ['error' => $e->getMessage()]);
    }
}
return reply(404, ['error' => "no route $method $path"]);
