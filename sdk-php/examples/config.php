<?php

// Shared by the examples: a client built from environment variables, so the same scripts run
// against any server. In an application these values come from your configuration.
//   RT_HOST, RT_PORT, RT_SCHEME (default http), RT_APP_ID, RT_APP_KEY, RT_APP_SECRET,
//   RT_E2E_MASTER_KEY_B64 (optional, for private-encrypted channels)

declare(strict_types=1);

// Without Composer: require the SDK's autoloader. With Composer, vendor/autoload.php does it.
require __DIR__ . '/../autoload.php';

use Realtime\Pusher;

function realtime_client(): Pusher
{
    $options = [
        'host' => getenv('RT_HOST') ?: '127.0.0.1',
        'port' => (int) (getenv('RT_PORT') ?: 6001),
        'scheme' => getenv('RT_SCHEME') ?: 'http',
        'useTLS' => (getenv('RT_SCHEME') ?: 'http') === 'https',
    ];
    if (getenv('RT_E2E_MASTER_KEY_B64')) {
        $options['encryption_master_key_base64'] = getenv('RT_E2E_MASTER_KEY_B64');
    }
    return new Pusher(getenv('RT_APP_KEY'), getenv('RT_APP_SECRET'), getenv('RT_APP_ID'), $options);
}
