// The Laravel `/broadcasting/auth` route of docs/ingest.md, run as printed: the PHP block is
// read from the document and served by `php -S` with sdk-php. Laravel itself is not installed
// here, so a few stand-ins take its place: Request, Route, response(), env() and a
// Broadcast::auth() that answers exactly as Laravel's RedisBroadcaster does (`true` for a
// private channel, {"channel_data":{"user_id","user_info"}} for a presence channel, HTTP 403
// when a channel rule refuses). Real pusher-js clients use the route as their authEndpoint, so
// the server accepting their subscriptions proves the signatures the example produces.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import PusherJs from 'pusher-js';
import { SOURCE_DIR, createDatabase, createApp, startServer, pusherJsOptions, freePort, waitFor } from '../harness/index.mjs';
import { restClient } from './helpers.mjs';

/** The PHP block of docs/ingest.md that defines the auth route. */
function docExample() {
  const doc = readFileSync(path.join(SOURCE_DIR, 'docs/ingest.md'), 'utf8');
  const blocks = [...doc.matchAll(/```php\n([\s\S]*?)```/g)].map((m) => m[1]);
  const route = blocks.filter((b) => b.includes("Route::post('/broadcasting/auth'"));
  assert.equal(route.length, 1, 'docs/ingest.md has one /broadcasting/auth example');
  return route[0];
}

// Stand-ins for the parts of Laravel the example touches. The user is #42, Ada; a channel
// whose name ends in "-forbidden" is refused by its (imagined) rule in routes/channels.php.
const LARAVEL_STANDINS = String.raw`<?php
namespace Illuminate\Http {
    class Request {
        public function __construct(private array $input) {}
        public function input(string $key) { return $this->input[$key] ?? null; }
    }
}
namespace Illuminate\Support\Facades {
    class HttpException extends \RuntimeException {}
    class Broadcast {
        public static function auth(\Illuminate\Http\Request $request) {
            $channel = $request->input('channel_name');
            if (str_ends_with($channel, '-forbidden')) throw new HttpException('Forbidden', 403);
            if (str_starts_with($channel, 'presence-')) {
                return json_encode(['channel_data' => ['user_id' => 42, 'user_info' => ['name' => 'Ada']]]);
            }
            return json_encode(true);
        }
    }
    class Route {
        public static $routes = [];
        public static function post(string $path, \Closure $action) {
            self::$routes[$path] = $action;
            return new class { public function middleware($m) { return $this; } };
        }
    }
}
namespace {
    function response($content, int $status = 200) { return [$status, (string) $content]; }
    function env(string $key) { return getenv($key); }
}
`;

const ROUTER = String.raw`<?php
require getenv('SDK_AUTOLOAD');
require __DIR__ . '/laravel_standins.php';
require __DIR__ . '/web.php';
$action = Illuminate\Support\Facades\Route::$routes[parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH)] ?? null;
if ($_SERVER['REQUEST_METHOD'] !== 'POST' || !$action) { http_response_code(404); return; }
try {
    [$status, $body] = $action(new Illuminate\Http\Request($_POST));
} catch (Illuminate\Support\Facades\HttpException $e) {
    [$status, $body] = [$e->getCode(), '{"message":"Forbidden"}'];
}
http_response_code($status);
header('Content-Type: application/json');
echo $body;
`;

describe('the Laravel auth route of docs/ingest.md', { timeout: 60000 }, () => {
  let server, app, php, dir, authUrl, clients = [];
  before(async () => {
    const db = createDatabase();
    app = createApp(db, [], 'laravel-auth');
    server = await startServer({ dbUrl: db });
    dir = mkdtempSync(path.join(tmpdir(), 'rt-laravel-auth-'));
    writeFileSync(path.join(dir, 'laravel_standins.php'), LARAVEL_STANDINS);
    writeFileSync(path.join(dir, 'web.php'), `<?php\n${docExample()}`);
    writeFileSync(path.join(dir, 'router.php'), ROUTER);
    const port = await freePort();
    php = spawn('php', ['-S', `127.0.0.1:${port}`, path.join(dir, 'router.php')], {
      env: {
        PATH: process.env.PATH, SDK_AUTOLOAD: path.join(SOURCE_DIR, 'sdk-php/autoload.php'),
        RT_APP_KEY: app.key, RT_APP_SECRET: app.secret, RT_APP_ID: app.id,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    authUrl = `http://127.0.0.1:${port}/broadcasting/auth`;
    await waitFor(async () => {
      try { await fetch(authUrl, { method: 'POST' }); return true; } catch { return false; } // any answer: listening
    }, 10000, 'php -S');
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    php?.kill();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A pusher-js client whose authEndpoint is the documented route, as Echo configures it. */
  function echoLikeClient() {
    const c = new PusherJs(app.key, pusherJsOptions(server, { channelAuthorization: { endpoint: authUrl, transport: 'ajax' } }));
    clients.push(c);
    return c;
  }

  /** Resolves with ['ok', data] on subscription_succeeded or ['error', status] on subscription_error. */
  function subscribe(client, name) {
    return new Promise((resolve) => {
      const ch = client.subscribe(name);
      ch.bind('pusher:subscription_succeeded', (data) => resolve(['ok', data]));
      ch.bind('pusher:subscription_error', (e) => resolve(['error', e.status]));
    });
  }

  test('a private channel authorized by the route is accepted and receives events', async () => {
    const c = echoLikeClient();
    const [outcome] = await subscribe(c, 'private-orders');
    assert.equal(outcome, 'ok');
    const got = new Promise((resolve) => c.channel('private-orders').bind('order-shipped', resolve));
    await restClient(server, app).trigger('private-orders', 'order-shipped', { id: 7 });
    assert.deepEqual(await got, { id: 7 });
  });

  test('a presence channel gets the member Laravel returned', async () => {
    const [outcome, members] = await subscribe(echoLikeClient(), 'presence-room');
    assert.equal(outcome, 'ok');
    assert.equal(members.count, 1);
    assert.deepEqual(members.me, { id: '42', info: { name: 'Ada' } });
  });

  test("a channel Laravel's rules refuse is a subscription error 403", async () => {
    const [outcome, status] = await subscribe(echoLikeClient(), 'private-forbidden');
    assert.deepEqual([outcome, status], ['error', 403]);
  });
});
