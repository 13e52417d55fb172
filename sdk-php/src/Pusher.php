<?php

// The Realtime server SDK: a drop-in for pusher-php-server 7.x's Pusher\Pusher (same
// constructor, methods, arguments and return shapes), without Composer dependencies.

declare(strict_types=1);

namespace Realtime;

use Realtime\Http\ClientOptions;
use Realtime\Http\CurlTransport;
use Realtime\Http\Request;
use Realtime\Http\Response;

/**
 * Publishes events and queries channels through the HTTP API (PROTOCOL.md §14), signs channel
 * and user authorization for the browser (§6), encrypts private-encrypted payloads (§11) and
 * verifies webhooks (§15).
 *
 *     $pusher = new Pusher($key, $secret, $appId, ['host' => '127.0.0.1', 'port' => 6001,
 *                                                  'scheme' => 'http']);
 *     $pusher->trigger('orders', 'order.shipped', ['id' => 1]);
 */
class Pusher implements PusherInterface
{
    public static string $VERSION = '7.2.7';

    /** Sent as X-Pusher-Library so the server can tell SDKs apart. */
    public const LIBRARY = 'realtime-php 0.1.0';

    /** @var array<string, mixed> resolved options, see __construct */
    private array $settings;

    private ?PusherCrypto $crypto = null;

    private Validator $validator;

    private CurlTransport $transport;

    /** Request headers sent by the SDK itself; client `headers` cannot replace them. */
    private const OWN_HEADERS = ['Content-Type', 'X-Pusher-Library', 'Expect'];

    /** @var string[] "Name: value" lines from the client's `headers` option */
    private array $extraHeaders;

    /**
     * Holds ->logger: any object with log($level, $message, array $context) (PSR-3 shape), or
     * null. A holder rather than a property so the transport can log without keeping a
     * reference to this client (which would delay its destruction to the cycle collector).
     */
    private \stdClass $logSink;

    /**
     * @param string     $auth_key The app key.
     * @param string     $secret   The app secret.
     * @param string|int $app_id   The app ID.
     * @param array<string, mixed> $options
     *   - host (default api-{cluster}.pusher.com, else api-mt1.pusher.com; a http:// or
     *     https:// prefix is removed) / cluster
     *   - scheme ('http'|'https'), port, useTLS (default true): https on port 443 only when
     *     useTLS is true and neither scheme nor port is given; otherwise http and 80 by default
     *   - path: prefix before /apps/... when the server sits behind a proxy path (default '');
     *     as with pusher-php-server, only the part up to its last "/" is used: '/realtime/'
     *   - timeout: seconds for a whole request (default: the client's timeout, else 30; 0 means
     *     none); connect_timeout (default: the client's, else 10)
     *   - encryption_master_key_base64: 32 bytes, base64; enables private-encrypted channels
     *   - curl_options: extra CURLOPT_* => value applied to every request
     *   - retries (default 2) / retry_delay_ms (default 100): retries of GETs after network
     *     errors, with the delay doubling each time
     *   - max_data_size (default 10240 bytes), max_channel_name_length (200),
     *     max_event_name_length (200), max_channels_per_trigger (100), max_batch_size (10):
     *     client-side limits; set them to your app's server-side limits
     * @param mixed $client A Guzzle client (what pusher-php-server takes here; Laravel builds
     *                      one from `client_options`) or an array of Guzzle request options.
     *                      Its verify, proxy, timeout, connect_timeout, headers, cert, ssl_key,
     *                      crypto_method and curl options apply to every request (see
     *                      Http\ClientOptions); requests are still sent by this SDK's curl code.
     *
     * @throws PusherException on an invalid option value
     */
    public function __construct(
        string $auth_key,
        string $secret,
        string|int $app_id,
        array $options = [],
        mixed $client = null
    ) {
        foreach (['curl', 'json', 'hash', 'sodium'] as $extension) {
            if (!extension_loaded($extension)) {
                throw new PusherException("The Realtime SDK requires the PHP $extension extension");
            }
        }
        $clientOptions = ClientOptions::from($client);
        $options += array_filter(
            ['timeout' => $clientOptions->timeout(), 'connect_timeout' => $clientOptions->connectTimeout()],
            static fn (?float $seconds) => $seconds !== null
        );
        $this->settings = self::resolveOptions((string) $auth_key, $secret, (string) $app_id, $options);
        $this->extraHeaders = $clientOptions->headerLines(self::OWN_HEADERS);
        if (!$clientOptions->hasHeader('Accept')) {
            $this->extraHeaders[] = 'Accept:'; // curl would send "Accept: */*"; Guzzle sends none
        }

        $masterKey = (string) ($options['encryption_master_key_base64'] ?? '');
        if ($masterKey !== '') {
            $this->crypto = new PusherCrypto(PusherCrypto::parse_master_key($masterKey));
        }
        $this->validator = new Validator(
            (int) $this->settings['max_channel_name_length'],
            (int) $this->settings['max_event_name_length'],
            (int) $this->settings['max_channels_per_trigger'],
            (int) $this->settings['max_data_size'],
            (int) $this->settings['max_batch_size']
        );
        $this->logSink = new \stdClass();
        $this->logSink->logger = null;
        $sink = $this->logSink;
        $this->transport = new CurlTransport(
            (float) $this->settings['timeout'],
            (float) $this->settings['connect_timeout'],
            (int) $this->settings['retries'],
            (int) $this->settings['retry_delay_ms'],
            (array) $this->settings['curl_options']
                + $clientOptions->curlOptions($this->settings['scheme'], $this->settings['host']),
            static function (string $level, string $message, array $context) use ($sink): void {
                $sink->logger?->log($level, $message, $context);
            }
        );
    }

    /** The resolved settings (scheme, host, port, path, timeout, app_id, auth_key, ...). */
    public function getSettings(): array
    {
        return $this->settings;
    }

    /**
     * Sets a logger: any object with a PSR-3 style log($level, $message, array $context)
     * (Monolog, Laravel's logger, ...); null removes it. Messages carry the method, path,
     * status and timing of requests; never the secret, signatures or query strings.
     */
    public function setLogger(?object $logger): void
    {
        if ($logger !== null && !method_exists($logger, 'log')) {
            throw new PusherException('The logger must have a log($level, $message, array $context) method');
        }
        $this->logSink->logger = $logger;
    }

    // ---------------------------------------------------------------------------------------
    // Publishing
    // ---------------------------------------------------------------------------------------

    /**
     * Triggers $event on one channel or a list of channels (at most 100).
     *
     * @param string|string[] $channels
     * @param mixed $data encoded with json_encode unless $already_encoded (then a string)
     * @param array<string, mixed> $params `socket_id` to exclude a connection, `info`
     *                                     (e.g. 'user_count,subscription_count')
     * @return object `{}` or, with `info`, ->channels as an array of channel => object
     *
     * @throws ValidationException before sending; ApiErrorException on a non-200 response
     */
    public function trigger(
        string|array $channels,
        string $event,
        mixed $data,
        array $params = [],
        bool $already_encoded = false
    ): object {
        return $this->processTriggerResult($this->post('/events', $this->makeTriggerBody(
            $channels,
            $event,
            $data,
            $params,
            $already_encoded
        )));
    }

    /** Like trigger() but returns at once; the Promise resolves to trigger()'s result. */
    public function triggerAsync(
        string|array $channels,
        string $event,
        mixed $data,
        array $params = [],
        bool $already_encoded = false
    ): Promise {
        $body = $this->makeTriggerBody($channels, $event, $data, $params, $already_encoded);
        return $this->postAsync('/events', $body)->then(fn (object $result) => $this->processTriggerResult($result));
    }

    /**
     * Triggers several events in one request (at most 10 by default). Each entry has
     * `channel`, `name`, `data` and optionally `socket_id` and `info`.
     *
     * @param array<int, array<string, mixed>> $batch
     * @return object `{}` or, with any `info`, ->batch as a list of objects, index-aligned
     */
    public function triggerBatch(array $batch = [], bool $already_encoded = false): object
    {
        return $this->processTriggerResult($this->post('/batch_events', $this->makeBatchBody($batch, $already_encoded)));
    }

    /** Like triggerBatch() but returns a Promise. */
    public function triggerBatchAsync(array $batch = [], bool $already_encoded = false): Promise
    {
        $body = $this->makeBatchBody($batch, $already_encoded);
        return $this->postAsync('/batch_events', $body)
            ->then(fn (object $result) => $this->processTriggerResult($result));
    }

    /** Sends $event to every connection signed in as $user_id (channel #server-to-user-{id}). */
    public function sendToUser(string $user_id, string $event, mixed $data, bool $already_encoded = false): object
    {
        $this->validator->userId($user_id);
        return $this->trigger([Validator::SERVER_TO_USER_PREFIX . $user_id], $event, $data, [], $already_encoded);
    }

    /** Like sendToUser() but returns a Promise. */
    public function sendToUserAsync(string $user_id, string $event, mixed $data, bool $already_encoded = false): Promise
    {
        $this->validator->userId($user_id);
        return $this->triggerAsync([Validator::SERVER_TO_USER_PREFIX . $user_id], $event, $data, [], $already_encoded);
    }

    /** Disconnects every connection signed in as $userId, on every node. Returns `{}`. */
    public function terminateUserConnections(string $userId): object
    {
        $this->validator->userId($userId);
        return $this->post('/users/' . $userId . '/terminate_connections', '{}');
    }

    /** Like terminateUserConnections() but returns a Promise. */
    public function terminateUserConnectionsAsync(string $userId): Promise
    {
        $this->validator->userId($userId);
        return $this->postAsync('/users/' . $userId . '/terminate_connections', '{}');
    }

    // ---------------------------------------------------------------------------------------
    // Querying
    // ---------------------------------------------------------------------------------------

    /**
     * State of one channel: ->occupied, plus ->user_count / ->subscription_count / ->cache
     * when asked for with $params['info'].
     */
    public function getChannelInfo(string $channel, array $params = []): object
    {
        $this->validator->channel($channel);
        return $this->get('/channels/' . self::pathSegment($channel), $params);
    }

    /**
     * Occupied channels. $params: `filter_by_prefix`, `info` ('user_count' with the
     * 'presence-' prefix). Returns an object whose ->channels is an array name => object.
     */
    public function getChannels(array $params = []): object
    {
        $result = $this->get('/channels', $params);
        if (isset($result->channels) && is_object($result->channels)) {
            $result->channels = get_object_vars($result->channels);
        }
        return $result;
    }

    /** @deprecated use getChannelInfo() */
    public function get_channel_info(string $channel, array $params = []): object
    {
        return $this->getChannelInfo($channel, $params);
    }

    /** @deprecated use getChannels() */
    public function get_channels(array $params = []): object
    {
        return $this->getChannels($params);
    }

    /** @deprecated use getPresenceUsers() */
    public function get_users_info(string $channel): object
    {
        return $this->getPresenceUsers($channel);
    }

    /** Members of a presence channel: ->users is a list of objects with ->id. */
    public function getPresenceUsers(string $channel): object
    {
        $this->validator->channel($channel);
        return $this->get('/channels/' . self::pathSegment($channel) . '/users');
    }

    /**
     * Signed GET of /apps/{app_id}{$path}. Returns the decoded JSON (objects, or arrays with
     * $associative). Retried after network errors (option `retries`).
     *
     * @throws ApiErrorException on a non-200 status or a network error
     */
    public function get(string $path, array $params = [], bool $associative = false): mixed
    {
        return $this->decode($this->transport->send($this->makeRequest('GET', $path, $params, null)), $associative);
    }

    /** Like get() but returns a Promise (no retries). */
    public function getAsync(string $path, array $params = [], bool $associative = false): Promise
    {
        $id = $this->transport->start($this->makeRequest('GET', $path, $params, null));
        return new Promise(fn () => $this->decode($this->transport->collect($id), $associative));
    }

    /**
     * Signed POST of $body (a JSON string; arrays and objects are encoded) to
     * /apps/{app_id}{$path}. Returns the decoded JSON object. Never retried: a POST that timed
     * out may have been delivered.
     *
     * @throws ApiErrorException on a non-200 status or a network error
     */
    public function post(string $path, mixed $body, array $params = []): mixed
    {
        return $this->decode($this->transport->send($this->makeRequest('POST', $path, $params, self::bodyString($body))));
    }

    /** Like post() but returns a Promise. */
    public function postAsync(string $path, mixed $body, array $params = []): Promise
    {
        $id = $this->transport->start($this->makeRequest('POST', $path, $params, self::bodyString($body)));
        return new Promise(fn () => $this->decode($this->transport->collect($id)));
    }

    // ---------------------------------------------------------------------------------------
    // Authorization for the browser (return JSON strings for the auth endpoint's response)
    // ---------------------------------------------------------------------------------------

    /**
     * Authorizes $socket_id to subscribe to a private or private-encrypted channel. Returns
     * JSON {"auth": "key:signature"} (+ "channel_data" when $custom_data is given,
     * + "shared_secret" for private-encrypted channels).
     */
    public function authorizeChannel(string $channel, string $socket_id, ?string $custom_data = null): string
    {
        $this->validator->channel($channel);
        $this->validator->socketId($socket_id);
        // pusher-php-server tests the custom data for truthiness, so "0" is not signed either.
        $custom_data = $custom_data ? $custom_data : null;
        $response = ['auth' => Signer::channelAuth(
            $this->settings['auth_key'],
            $this->settings['secret'],
            $socket_id,
            $channel,
            $custom_data
        )];
        if ($custom_data !== null) {
            $response['channel_data'] = $custom_data;
        }
        if (PusherCrypto::is_encrypted_channel($channel)) {
            $response['shared_secret'] = base64_encode($this->requireCrypto()->generate_shared_secret($channel));
        }
        return self::encodeJson($response, JSON_UNESCAPED_SLASHES);
    }

    /**
     * Authorizes $socket_id to join presence channel $channel as $user_id (with optional
     * $user_info). Returns JSON {"auth", "channel_data"}.
     */
    public function authorizePresenceChannel(
        string $channel,
        string $socket_id,
        string|int $user_id,
        mixed $user_info = null
    ): string {
        $userData = ['user_id' => (string) $user_id];
        if ($userData['user_id'] === '') {
            throw new ValidationException('Invalid user id: it is empty');
        }
        if ($user_info) {
            $userData['user_info'] = $user_info;
        }
        return $this->authorizeChannel($channel, $socket_id, self::encodeJson($userData));
    }

    /**
     * Signs a user sign-in (pusher-js `signin()`, PROTOCOL.md §10.1). $user_data must have a
     * non-empty string `id`; it may have `user_info` and `watchlist`. Returns JSON
     * {"auth", "user_data"}.
     */
    public function authenticateUser(string $socket_id, array $user_data): string
    {
        $this->validator->socketId($socket_id);
        if (!array_key_exists('id', $user_data)) {
            throw new ValidationException('user_data must include an "id"');
        }
        if (!is_string($user_data['id']) || $user_data['id'] === '') {
            throw new ValidationException('user_data "id" must be a non-empty string (pusher-js requires it)');
        }
        $serialized = self::encodeJson($user_data);
        return self::encodeJson([
            'auth' => Signer::userAuth($this->settings['auth_key'], $this->settings['secret'], $socket_id, $serialized),
            'user_data' => $serialized,
        ]);
    }

    /**
     * Issues a connection token (docs/security.md, "Connection tokens"): an HS256 JWT signed
     * with this client's secret, kid = its key, for a browser to present when it connects
     * (`token` query parameter on /app/{key}) or in pusher:signin {"token": ...}. The
     * connection is then signed in as $userId; the private-/presence- channels in $channels
     * (exact names, or patterns where * matches any run of characters) are joined without
     * the auth endpoint, with $userInfo as the presence member info. Valid for $ttl seconds
     * (1-86400).
     *
     * @param string[]                  $channels
     * @param array<string, mixed>|null $userInfo a JSON object
     */
    public function issueConnectionToken(
        string|int $userId,
        array $channels = [],
        int $ttl = 300,
        ?array $userInfo = null
    ): string {
        $userId = (string) $userId;
        if (!preg_match('/\A[A-Za-z0-9_\-=@,.;]{1,128}\z/', $userId)) {
            throw new ValidationException('Invalid user id: use 1-128 characters of A-Z a-z 0-9 _ - = @ , . ;');
        }
        if ($ttl < 1 || $ttl > 86400) {
            throw new ValidationException('The token lifetime must be 1 to 86400 seconds');
        }
        foreach ($channels as $channel) {
            if (!is_string($channel) || !preg_match('/\A(private|presence)-[A-Za-z0-9_\-=@,.;*]*\z/', $channel)
                || strlen($channel) > 200) {
                throw new ValidationException(
                    'Token channels must be private-, presence- or private-encrypted- channel names (* as a wildcard)'
                );
            }
        }
        if ($userInfo !== null && $userInfo !== [] && array_is_list($userInfo)) {
            throw new ValidationException('user_info must be an associative array (a JSON object)');
        }
        $now = time();
        $claims = ['sub' => $userId, 'aud' => $this->settings['app_id'], 'iat' => $now, 'exp' => $now + $ttl];
        if ($channels !== []) {
            $claims['channels'] = array_values($channels);
        }
        if ($userInfo !== null) {
            $claims['user_info'] = (object) $userInfo;
        }
        $header = ['alg' => 'HS256', 'typ' => 'JWT', 'kid' => $this->settings['auth_key']];
        $signed = self::base64url(self::encodeJson($header, JSON_UNESCAPED_SLASHES)) . '.'
            . self::base64url(self::encodeJson($claims, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE));
        return $signed . '.' . self::base64url(hash_hmac('sha256', $signed, $this->settings['secret'], true));
    }

    private static function base64url(string $bytes): string
    {
        return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
    }

    /** @deprecated use authorizeChannel() */
    public function socket_auth(string $channel, string $socket_id, ?string $custom_data = null): string
    {
        return $this->authorizeChannel($channel, $socket_id, $custom_data);
    }

    /** @deprecated use authorizeChannel() */
    public function socketAuth(string $channel, string $socket_id, ?string $custom_data = null): string
    {
        return $this->authorizeChannel($channel, $socket_id, $custom_data);
    }

    /** @deprecated use authorizePresenceChannel() */
    public function presence_auth(string $channel, string $socket_id, string|int $user_id, mixed $user_info = null): string
    {
        return $this->authorizePresenceChannel($channel, $socket_id, $user_id, $user_info);
    }

    /** @deprecated use authorizePresenceChannel() */
    public function presenceAuth(string $channel, string $socket_id, string|int $user_id, mixed $user_info = null): string
    {
        return $this->authorizePresenceChannel($channel, $socket_id, $user_id, $user_info);
    }

    // ---------------------------------------------------------------------------------------
    // Webhooks
    // ---------------------------------------------------------------------------------------

    /**
     * Verifies and decodes a webhook request. $headers may use any case and may hold lists
     * (as frameworks return them). Events on encrypted channels get their `data` decrypted;
     * ones that cannot be decrypted are dropped with a warning log, like pusher-php-server.
     *
     * @throws PusherException on a bad signature or a body that is not a webhook
     */
    public function webhook(array $headers, string $body): Webhook
    {
        $this->verifySignature($headers, $body);
        $decoded = json_decode($body, false);
        if (!is_object($decoded) || !isset($decoded->events) || !is_array($decoded->events)) {
            throw new PusherException('Data decoding error: the webhook body has no "events" list');
        }
        $events = [];
        foreach ($decoded->events as $event) {
            if (!is_object($event)) {
                continue;
            }
            $channel = isset($event->channel) && is_string($event->channel) ? $event->channel : '';
            if (!PusherCrypto::is_encrypted_channel($channel) || !isset($event->data)) {
                $events[] = $event;
                continue;
            }
            if ($this->crypto === null) {
                $this->log('warning', 'Realtime: encrypted webhook event ignored: no encryption master key configured');
                continue;
            }
            $decrypted = $this->crypto->decrypt_event($event);
            if ($decrypted === false) {
                $this->log('warning', 'Realtime: encrypted webhook event ignored: it does not decrypt with this key');
                continue;
            }
            $events[] = $decrypted;
        }
        return new Webhook((int) ($decoded->time_ms ?? 0), $events, self::header($headers, 'X-Realtime-Webhook-Id'));
    }

    /**
     * Checks X-Pusher-Key and X-Pusher-Signature (HMAC-SHA256 of the raw body) in constant
     * time. Returns nothing; throws PusherException when they do not match.
     */
    public function verifySignature(array $headers, string $body): void
    {
        $key = self::header($headers, 'X-Pusher-Key');
        $signature = self::header($headers, 'X-Pusher-Signature');
        $expected = Signer::webhookSignature($this->settings['secret'], $body);
        if ($key === null || $signature === null || $key !== $this->settings['auth_key']
            || !Signer::equals($expected, strtolower($signature))) {
            throw new PusherException('Received a webhook with an invalid key or signature');
        }
    }

    /** @deprecated use verifySignature() */
    public function ensure_valid_signature(array $headers, string $body): void
    {
        $this->verifySignature($headers, $body);
    }

    // ---------------------------------------------------------------------------------------
    // pusher-php-server static helpers
    // ---------------------------------------------------------------------------------------

    /**
     * Query parameters of a signed request, auth_signature included (pusher-php-server
     * helper). $request_path is /apps/{id}/... without any deployment prefix.
     */
    public static function build_auth_query_params(
        string $auth_key,
        string $auth_secret,
        string $request_method,
        string $request_path,
        array $query_params = [],
        string $auth_version = Signer::AUTH_VERSION,
        ?string $auth_timestamp = null
    ): array {
        if ($auth_version !== Signer::AUTH_VERSION) {
            throw new PusherException('Only auth_version 1.0 is supported');
        }
        return Signer::signRequest(
            $auth_key,
            $auth_secret,
            $request_method,
            $request_path,
            $query_params,
            null,
            $auth_timestamp === null ? null : (int) $auth_timestamp
        );
    }

    /** Joins key/value pairs, lists as comma lists (pusher-php-server helper). */
    public static function array_implode(string $glue, string $separator, mixed $array): string
    {
        if (!is_array($array)) {
            return (string) $array;
        }
        $pairs = [];
        foreach ($array as $key => $value) {
            $pairs[] = $key . $glue . (is_array($value) ? implode(',', $value) : $value);
        }
        return implode($separator, $pairs);
    }

    // ---------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------

    /**
     * Resolves scheme, host, port and path exactly as pusher-php-server 7.2 does:
     * - https on 443 only when useTLS is true (the default) and neither scheme nor port is
     *   given; otherwise scheme defaults to http and port to 80 (so host + port alone is http);
     * - useTLS counts only when it is the boolean true; the old `encrypted` option is ignored;
     * - host defaults to api-{cluster}.pusher.com, then api-mt1.pusher.com; a http:// or
     *   https:// in it is removed and does not change the scheme.
     *
     * @return array<string, mixed>
     */
    private static function resolveOptions(string $key, string $secret, string $appId, array $options): array
    {
        if ($key === '' || $secret === '' || $appId === '') {
            throw new PusherException('The app key, secret and app ID must not be empty');
        }
        $useTLS = !isset($options['useTLS']) || $options['useTLS'] === true;
        if ($useTLS && !isset($options['scheme']) && !isset($options['port'])) {
            $options['scheme'] = 'https';
            $options['port'] = 443;
        }
        $scheme = strtolower((string) ($options['scheme'] ?? 'http'));
        if ($scheme !== 'http' && $scheme !== 'https') {
            throw new PusherException("Invalid scheme \"$scheme\": use http or https");
        }
        // An empty port (PUSHER_PORT= in a .env file) leaves the URL without one, which
        // means the scheme's default port.
        $port = $options['port'] ?? 80;
        $port = $port === '' ? ($scheme === 'https' ? 443 : 80) : $port;
        if (!is_numeric($port) || (int) $port < 1 || (int) $port > 65535) {
            throw new PusherException('Invalid port ' . var_export($port, true));
        }
        $port = (int) $port;
        if (array_key_exists('host', $options)) {
            $host = (string) $options['host'];
        } elseif (isset($options['cluster'])) {
            $host = 'api-' . $options['cluster'] . '.pusher.com';
        } else {
            $host = 'api-mt1.pusher.com';
        }
        $host = rtrim((string) preg_replace('#https?://#', '', $host, 1), '/');
        $path = (string) ($options['path'] ?? '');
        if ($path !== '' && $path[0] !== '/') {
            $path = '/' . $path;
        }
        $defaults = [
            'timeout' => 30,
            'connect_timeout' => 10,
            'curl_options' => [],
            'retries' => 2,
            'retry_delay_ms' => 100,
            'max_data_size' => 10240,
            'max_channel_name_length' => 200,
            'max_event_name_length' => 200,
            'max_channels_per_trigger' => 100,
            'max_batch_size' => 10,
        ];
        $settings = array_intersect_key($options, $defaults) + $defaults;
        if (!is_numeric($settings['timeout']) || (float) $settings['timeout'] < 0) {
            throw new PusherException('The timeout must be a number of seconds (0 for none)');
        }
        if (!is_array($settings['curl_options'])) {
            throw new PusherException('curl_options must be an array of CURLOPT_* => value');
        }
        return [
            'scheme' => $scheme,
            'host' => $host,
            'port' => $port,
            'path' => $path,
            'auth_key' => $key,
            'secret' => $secret,
            'app_id' => $appId,
            'base_path' => '/apps/' . $appId,
        ] + $settings;
    }

    /** Builds the JSON body of POST /events after validating every argument. */
    private function makeTriggerBody(
        string|array $channels,
        string $event,
        mixed $data,
        array $params,
        bool $alreadyEncoded
    ): string {
        $channels = is_string($channels) ? [$channels] : array_values($channels);
        $this->validator->channels($channels);
        $this->validator->eventName($event);
        $this->validator->socketId(isset($params['socket_id']) ? (string) $params['socket_id'] : null);

        $encoded = $this->encodeData($data, $alreadyEncoded);
        if (PusherCrypto::is_encrypted_channel($channels[0])) {
            $encoded = $this->requireCrypto()->encrypt_payload($channels[0], $encoded);
        }
        $this->validator->data($encoded);

        $body = ['name' => $event, 'data' => $encoded];
        if (count($channels) === 1) {
            $body['channel'] = $channels[0];
        } else {
            $body['channels'] = $channels;
        }
        if (isset($params['info']) && is_array($params['info'])) {
            $params['info'] = implode(',', $params['info']);
        }
        $this->log('debug', 'Realtime: trigger {event} on {channel_count} channel(s)', [
            'event' => $event,
            'channel_count' => count($channels),
        ]);
        return self::encodeJson(array_merge($body, $params));
    }

    /**
     * Builds the JSON body of POST /batch_events after validating every entry. Each entry is
     * rebuilt as pusher-php-server 7.1+ does: name, data (JSON-encoded like trigger()'s, strings
     * included, unless $already_encoded), channel, then info and socket_id when given; other
     * keys are dropped.
     */
    private function makeBatchBody(array $batch, bool $alreadyEncoded): string
    {
        $this->validator->batchSize(count($batch));
        $entries = [];
        foreach (array_values($batch) as $index => $entry) {
            if (!is_array($entry) || !isset($entry['channel'], $entry['name']) || !array_key_exists('data', $entry)) {
                throw new ValidationException("Batch entry $index needs channel, name and data");
            }
            $channel = (string) $entry['channel'];
            $this->validator->channel($channel);
            $this->validator->eventName((string) $entry['name']);
            $this->validator->socketId(isset($entry['socket_id']) ? (string) $entry['socket_id'] : null);
            $data = $this->encodeData($entry['data'], $alreadyEncoded);
            if (PusherCrypto::is_encrypted_channel($channel)) {
                $data = $this->requireCrypto()->encrypt_payload($channel, $data);
            }
            $this->validator->data($data);
            $event = ['name' => $entry['name'], 'data' => $data, 'channel' => $channel];
            if (isset($entry['info'])) {
                $event['info'] = is_array($entry['info']) ? implode(',', $entry['info']) : $entry['info'];
            }
            if (isset($entry['socket_id'])) {
                $event['socket_id'] = $entry['socket_id'];
            }
            $entries[] = $event;
        }
        return self::encodeJson(['batch' => $entries]);
    }

    private function encodeData(mixed $data, bool $alreadyEncoded): string
    {
        if ($alreadyEncoded) {
            if (!is_string($data)) {
                throw new ValidationException('With $already_encoded the data must be a string');
            }
            return $data;
        }
        return self::encodeJson($data);
    }

    /** Turns ->channels of a trigger response into an array, as pusher-php-server does. */
    private function processTriggerResult(object $result): object
    {
        if (isset($result->channels) && is_object($result->channels)) {
            $result->channels = get_object_vars($result->channels);
        }
        return $result;
    }

    private function makeRequest(string $method, string $path, array $params, ?string $body): Request
    {
        $apiPath = $this->settings['base_path'] . $path;
        $query = Signer::signRequest(
            $this->settings['auth_key'],
            $this->settings['secret'],
            $method,
            $apiPath,
            $params,
            $body
        );
        $url = $this->urlPrefix() . $apiPath . '?' . http_build_query($query, '', '&', PHP_QUERY_RFC3986);
        // Content-Type on every request, like pusher-php-server's Guzzle calls.
        $headers = array_merge(
            ['Content-Type: application/json', 'X-Pusher-Library: ' . self::LIBRARY, 'Expect:'],
            $this->extraHeaders
        );
        return new Request($method, $url, (string) parse_url($url, PHP_URL_PATH), $body, $headers);
    }

    /**
     * Maps a response to its decoded JSON body: any status but 200 is an ApiErrorException
     * carrying the status and body; a 200 without valid JSON is a PusherException.
     */
    private function decode(Response $response, bool $associative = false): mixed
    {
        if ($response->status !== 200) {
            throw new ApiErrorException($response->body, $response->status);
        }
        try {
            return json_decode($response->body, $associative, 512, JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            throw new PusherException('Data decoding error: the server did not answer with JSON', 0, $e);
        }
    }

    /**
     * scheme://host[:port][/prefix] that /apps/... is appended to. pusher-php-server hands
     * "scheme://host:port{path}" to Guzzle as base_uri and "apps/..." as a relative URI, so by
     * RFC 3986 the last segment of `path` is replaced: "/realtime/" gives /realtime/apps/...
     * but "/realtime" gives /apps/.... The same happens here, so a config behaves the same
     * with either SDK. The scheme's default port is left out, as Guzzle does.
     */
    private function urlPrefix(): string
    {
        $scheme = $this->settings['scheme'];
        $port = $this->settings['port'];
        $defaultPort = $scheme === 'https' ? 443 : 80;
        $path = $this->settings['path'];
        $directory = $path === '' ? '' : substr($path, 0, (int) strrpos($path, '/'));
        return $scheme . '://' . $this->settings['host'] . ($port === $defaultPort ? '' : ':' . $port) . $directory;
    }

    private function requireCrypto(): PusherCrypto
    {
        if ($this->crypto === null) {
            throw new PusherException(
                'Encrypted channels need the encryption_master_key_base64 option'
            );
        }
        return $this->crypto;
    }

    /** '#' would start a URL fragment, so the one character that needs it is escaped. */
    private static function pathSegment(string $channel): string
    {
        return str_replace('#', '%23', $channel);
    }

    private static function bodyString(mixed $body): string
    {
        return is_string($body) ? $body : self::encodeJson($body);
    }

    /**
     * json_encode with pusher-php-server's flags: request bodies, event data and signed
     * user data escape "/" and non-ASCII (the default), so bodies and signatures are
     * byte-identical to the official SDK's; only authorizeChannel() passes
     * JSON_UNESCAPED_SLASHES, as it does.
     */
    private static function encodeJson(mixed $value, int $flags = 0): string
    {
        try {
            return json_encode($value, JSON_THROW_ON_ERROR | $flags);
        } catch (\JsonException $e) {
            throw new PusherException('Data encoding error: ' . $e->getMessage(), 0, $e);
        }
    }

    /** Case-insensitive header lookup; list values (framework style) yield their first item. */
    private static function header(array $headers, string $name): ?string
    {
        foreach ($headers as $key => $value) {
            if (strcasecmp((string) $key, $name) !== 0) {
                continue;
            }
            if (is_array($value)) {
                $value = reset($value);
            }
            return is_scalar($value) ? (string) $value : null;
        }
        return null;
    }

    /** Forwards to the logger, if any. Callers never put secrets or signatures in $context. */
    private function log(string $level, string $message, array $context = []): void
    {
        $this->logSink->logger?->log($level, $message, $context);
    }
}
