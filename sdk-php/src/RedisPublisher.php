<?php

// Publishing through the servers' Redis instead of the REST API (docs/ingest.md): one XADD
// per event to the app's stream rt:ingest:{APP_ID}, which the servers read with a consumer
// group, publish and acknowledge. Over phpredis when given a \Redis object, else over a plain
// socket speaking RESP, so it needs no extension and no Composer dependency.

declare(strict_types=1);

namespace Realtime;

/**
 * trigger() has Pusher::trigger()'s checks and arguments and returns the stream entry's id
 * once Redis has it; the servers publish it within about 100 ms while they run, or when they
 * are back. Errors: ValidationException / LimitExceededException before anything is sent,
 * ConnectionException when Redis cannot be reached or refuses the command.
 */
final class RedisPublisher
{
    private const DEFAULTS = [
        'timeout' => 3.0,
        'max_length' => null,
        'max_channel_name_length' => 200,
        'max_event_name_length' => 200,
        'max_channels_per_trigger' => 100,
        'max_data_size' => 10240,
        'encryption_master_key_base64' => '',
    ];

    private string $stream;
    private Validator $validator;
    private ?PusherCrypto $crypto = null;
    private ?\Redis $redis = null;
    /** @var resource|null */
    private $socket = null;
    private string $buffer = '';
    /** @var array{host: string, port: int, user: ?string, password: ?string, tls: bool} */
    private array $url = ['host' => '127.0.0.1', 'port' => 6379, 'user' => null, 'password' => null, 'tls' => false];
    private float $timeout;
    private ?int $maxLength;

    /**
     * @param string $appId the app whose stream is written
     * @param string|\Redis $redis a redis:// or rediss:// URL (user and password taken from it),
     *                             or a connected phpredis object
     * @param array<string, mixed> $options timeout (seconds), max_length (MAXLEN ~ on every
     *        XADD), the app's limits as Pusher takes them (max_data_size, ...), and
     *        encryption_master_key_base64 for private-encrypted channels
     */
    public function __construct(string $appId, string|\Redis $redis = 'redis://127.0.0.1:6379', array $options = [])
    {
        if (!preg_match('/\A[0-9A-Za-z_-]{1,24}\z/', $appId)) {
            throw new ValidationException("Invalid app id '$appId'");
        }
        $options += self::DEFAULTS;
        $this->stream = "rt:ingest:{{$appId}}";
        $this->timeout = (float) $options['timeout'];
        $this->maxLength = $options['max_length'] === null ? null : (int) $options['max_length'];
        if ($this->maxLength !== null && $this->maxLength < 1) {
            throw new ValidationException('max_length must be at least 1');
        }
        $this->validator = new Validator(
            (int) $options['max_channel_name_length'],
            (int) $options['max_event_name_length'],
            (int) $options['max_channels_per_trigger'],
            (int) $options['max_data_size']
        );
        if ((string) $options['encryption_master_key_base64'] !== '') {
            $this->crypto = new PusherCrypto(PusherCrypto::parse_master_key((string) $options['encryption_master_key_base64']));
        }
        if ($redis instanceof \Redis) {
            $this->redis = $redis;
        } else {
            $this->url = self::parseUrl($redis);
        }
    }

    /** The key entries are written to: rt:ingest:{APP_ID}. */
    public function stream(): string
    {
        return $this->stream;
    }

    /**
     * Adds one event for $channels (a name or a list) to the stream.
     *
     * @param string|string[] $channels
     * @param mixed $data encoded with json_encode unless $already_encoded (then a string)
     * @param array<string, mixed> $params `socket_id` to exclude a connection
     * @return string the entry id Redis gave, e.g. "1764496931245-0"
     */
    public function trigger(
        string|array $channels,
        string $event,
        mixed $data,
        array $params = [],
        bool $already_encoded = false
    ): string {
        $channels = is_string($channels) ? [$channels] : array_values($channels);
        $this->validator->channels($channels);
        $this->validator->eventName($event);
        $socketId = isset($params['socket_id']) ? (string) $params['socket_id'] : null;
        $this->validator->socketId($socketId);
        if ($already_encoded && !is_string($data)) {
            throw new ValidationException('With $already_encoded the data must be a string');
        }
        try {
            $encoded = $already_encoded ? $data : json_encode($data, JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            throw new PusherException('Data encoding error: ' . $e->getMessage(), 0, $e);
        }
        if (PusherCrypto::is_encrypted_channel($channels[0])) {
            if ($this->crypto === null) {
                throw new PusherException('Encrypted channels need the encryption_master_key_base64 option');
            }
            $encoded = $this->crypto->encrypt_payload($channels[0], $encoded);
        }
        $this->validator->data($encoded);

        $args = ['XADD', $this->stream];
        if ($this->maxLength !== null) {
            array_push($args, 'MAXLEN', '~', (string) $this->maxLength);
        }
        array_push($args, '*', 'name', $event, 'data', $encoded);
        if (count($channels) === 1) {
            array_push($args, 'channel', $channels[0]);
        } else {
            array_push($args, 'channels', json_encode($channels, JSON_THROW_ON_ERROR));
        }
        if ($socketId !== null) {
            array_push($args, 'socket_id', $socketId);
        }
        $id = $this->command($args);
        if (!is_string($id)) {
            throw new ConnectionException('Redis answered XADD without an entry id');
        }
        return $id;
    }

    /** Closes the socket (a phpredis object is left to its owner). */
    public function close(): void
    {
        if (is_resource($this->socket)) {
            fclose($this->socket);
        }
        $this->socket = null;
        $this->buffer = '';
    }

    public function __destruct()
    {
        $this->close();
    }

    // ---------------------------------------------------------------------------------------
    // Redis
    // ---------------------------------------------------------------------------------------

    /** @param list<string> $args */
    private function command(array $args): mixed
    {
        if ($this->redis !== null) {
            try {
                $reply = $this->redis->rawCommand(...$args);
            } catch (\RedisException $e) {
                throw new ConnectionException('Redis: ' . $e->getMessage(), 0, $e);
            }
            if ($reply === false) {
                throw new ConnectionException('Redis refused ' . $args[0] . ': ' . ($this->redis->getLastError() ?? 'no reason given'));
            }
            return $reply;
        }
        $this->connect();
        try {
            $this->write($args);
            return $this->read();
        } catch (ConnectionException $e) {
            $this->close(); // a half-read reply would shift every later one
            throw $e;
        }
    }

    private function connect(): void
    {
        if (is_resource($this->socket)) {
            return;
        }
        $target = ($this->url['tls'] ? 'tls://' : 'tcp://') . $this->url['host'] . ':' . $this->url['port'];
        $socket = @stream_socket_client($target, $errno, $error, $this->timeout);
        if ($socket === false) {
            throw new ConnectionException("Cannot connect to Redis at {$this->url['host']}:{$this->url['port']}: $error", $errno);
        }
        stream_set_timeout($socket, (int) $this->timeout, (int) (fmod($this->timeout, 1.0) * 1e6));
        $this->socket = $socket;
        if ($this->url['password'] !== null) {
            $auth = $this->url['user'] !== null
                ? ['AUTH', $this->url['user'], $this->url['password']]
                : ['AUTH', $this->url['password']];
            try {
                $this->write($auth);
                $this->read();
            } catch (ConnectionException $e) {
                $this->close();
                throw new ConnectionException('Redis refused the credentials of the URL: ' . $e->getMessage());
            }
        }
    }

    /** @param list<string> $args */
    private function write(array $args): void
    {
        $out = '*' . count($args) . "\r\n";
        foreach ($args as $arg) {
            $out .= '$' . strlen($arg) . "\r\n" . $arg . "\r\n";
        }
        for ($done = 0; $done < strlen($out); $done += $n) {
            $n = @fwrite($this->socket, substr($out, $done));
            if ($n === false || $n === 0) {
                throw new ConnectionException('Writing to Redis failed');
            }
        }
    }

    /** One RESP2 reply; an error reply throws ConnectionException with Redis's message. */
    private function read(): mixed
    {
        $line = $this->line();
        $rest = substr($line, 1);
        switch ($line[0] ?? '') {
            case '+':
                return $rest;
            case '-':
                throw new ConnectionException('Redis: ' . $rest);
            case ':':
                return (int) $rest;
            case '$':
                $n = (int) $rest;
                return $n < 0 ? null : substr($this->bytes($n + 2), 0, $n);
            case '*':
                $n = (int) $rest;
                if ($n < 0) {
                    return null;
                }
                $items = [];
                for ($i = 0; $i < $n; $i++) {
                    $items[] = $this->read();
                }
                return $items;
        }
        throw new ConnectionException('Redis sent something that is not RESP');
    }

    private function line(): string
    {
        while (($end = strpos($this->buffer, "\r\n")) === false) {
            $this->fill();
        }
        $line = substr($this->buffer, 0, $end);
        $this->buffer = substr($this->buffer, $end + 2);
        return $line;
    }

    private function bytes(int $n): string
    {
        while (strlen($this->buffer) < $n) {
            $this->fill();
        }
        $out = substr($this->buffer, 0, $n);
        $this->buffer = substr($this->buffer, $n);
        return $out;
    }

    private function fill(): void
    {
        $chunk = @fread($this->socket, 8192);
        if ($chunk === false || $chunk === '') {
            $timedOut = is_resource($this->socket) && (stream_get_meta_data($this->socket)['timed_out'] ?? false);
            throw new ConnectionException($timedOut ? 'Redis did not answer in time' : 'Redis closed the connection');
        }
        $this->buffer .= $chunk;
    }

    /** @return array{host: string, port: int, user: ?string, password: ?string, tls: bool} */
    private static function parseUrl(string $url): array
    {
        $parts = parse_url($url);
        $scheme = $parts['scheme'] ?? '';
        if ($parts === false || !in_array($scheme, ['redis', 'rediss'], true) || !isset($parts['host'])) {
            throw new ValidationException('The Redis URL must look like redis://[user:password@]host[:port]');
        }
        return [
            'host' => trim($parts['host'], '[]'),
            'port' => (int) ($parts['port'] ?? 6379),
            'user' => isset($parts['user']) && $parts['user'] !== '' ? rawurldecode($parts['user']) : null,
            'password' => isset($parts['pass']) ? rawurldecode($parts['pass']) : null,
            'tls' => $scheme === 'rediss',
        ];
    }
}
