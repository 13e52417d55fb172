<?php

// HTTP client on ext-curl: one reused easy handle for synchronous calls (keep-alive), a
// curl_multi handle for asynchronous ones, and retries with backoff for idempotent reads.

declare(strict_types=1);

namespace Realtime\Http;

use Realtime\ConnectionException;

/**
 * Sends signed requests. It never interprets statuses (the caller maps them to exceptions) and
 * only throws ConnectionException, when no HTTP response arrived at all.
 */
final class CurlTransport
{
    /** @var \CurlHandle|null reused so the TCP connection stays open between calls */
    private ?\CurlHandle $handle = null;

    private ?\CurlMultiHandle $multi = null;

    /** @var array<int, array{handle: \CurlHandle, request: Request, started: float}> in flight */
    private array $pending = [];

    /** @var array<int, Response|ConnectionException> finished async requests not yet collected */
    private array $finished = [];

    private int $nextId = 1;

    /** @var \Closure(string, string, array): void */
    private \Closure $log;

    /**
     * @param float $timeout        whole-request timeout in seconds
     * @param int   $retries        extra attempts for idempotent requests after a network error
     * @param int   $retryDelayMs   delay before the first retry; doubles on each further retry
     * @param array<int, mixed> $curlOptions extra CURLOPT_* values applied to every request
     * @param \Closure(string, string, array): void $log receives (level, message, context)
     */
    public function __construct(
        private float $timeout,
        private float $connectTimeout,
        private int $retries,
        private int $retryDelayMs,
        private array $curlOptions,
        \Closure $log
    ) {
        $this->log = $log;
    }

    public function __destruct()
    {
        // Finish fire-and-forget async requests (bounded by their timeout) instead of
        // dropping them when the client goes away at the end of a script.
        try {
            $this->drainAll();
        } catch (\Throwable) {
            // Nothing sensible to do with an error during destruction.
        }
        foreach ($this->pending as $entry) {
            curl_close($entry['handle']);
        }
        $this->pending = [];
        if ($this->multi !== null) {
            curl_multi_close($this->multi);
        }
        if ($this->handle !== null) {
            curl_close($this->handle);
        }
    }

    /**
     * Performs $request and returns its response, whatever the status. Idempotent requests are
     * retried up to $retries times after network errors, waiting retryDelayMs, then twice that,
     * and so on. Throws ConnectionException when the last attempt also failed.
     */
    public function send(Request $request): Response
    {
        $attempts = $request->isIdempotent() ? 1 + max(0, $this->retries) : 1;
        $delayMs = $this->retryDelayMs;
        for ($attempt = 1;; $attempt++) {
            try {
                return $this->sendOnce($request, $attempt);
            } catch (ConnectionException $e) {
                if ($attempt >= $attempts) {
                    throw $e;
                }
                ($this->log)('warning', 'Realtime: {method} {path} failed ({error}), retrying in {delay_ms} ms', [
                    'method' => $request->method,
                    'path' => $request->logPath,
                    'error' => $e->getMessage(),
                    'attempt' => $attempt,
                    'delay_ms' => $delayMs,
                ]);
                usleep($delayMs * 1000);
                $delayMs *= 2;
            }
        }
    }

    /**
     * Starts $request without waiting and returns an id for collect(). The request progresses
     * whenever any async request is collected (or when the transport is destroyed).
     */
    public function start(Request $request): int
    {
        $this->multi ??= curl_multi_init();
        $handle = curl_init();
        $this->configure($handle, $request);
        $id = $this->nextId++;
        $this->pending[$id] = ['handle' => $handle, 'request' => $request, 'started' => microtime(true)];
        curl_multi_add_handle($this->multi, $handle);
        // Push the request onto the wire right away; does not block.
        curl_multi_exec($this->multi, $running);
        $this->harvest();
        return $id;
    }

    /** Waits for the async request $id and returns its response; throws ConnectionException. */
    public function collect(int $id): Response
    {
        while (!isset($this->finished[$id])) {
            if (!isset($this->pending[$id])) {
                throw new \LogicException("Unknown or already collected request $id");
            }
            $this->step();
        }
        $result = $this->finished[$id];
        unset($this->finished[$id]);
        if ($result instanceof ConnectionException) {
            throw $result;
        }
        return $result;
    }

    /** Runs every in-flight async request to completion. */
    public function drainAll(): void
    {
        while ($this->pending !== []) {
            $this->step();
        }
    }

    private function sendOnce(Request $request, int $attempt): Response
    {
        // curl_reset clears options but keeps the connection cache, so keep-alive survives.
        if ($this->handle === null) {
            $this->handle = curl_init();
        } else {
            curl_reset($this->handle);
        }
        $this->configure($this->handle, $request);
        $started = microtime(true);
        $body = curl_exec($this->handle);
        $errno = curl_errno($this->handle);
        if ($body === false || $errno !== 0) {
            throw $this->connectionError($request, curl_error($this->handle), $errno, $started, $attempt);
        }
        $response = new Response((int) curl_getinfo($this->handle, CURLINFO_RESPONSE_CODE), (string) $body);
        $this->logResponse($request, $response, $started, $attempt, (int) curl_getinfo($this->handle, CURLINFO_NUM_CONNECTS));
        return $response;
    }

    /** One round of multi I/O: advance transfers, wait briefly for sockets, harvest results. */
    private function step(): void
    {
        do {
            $status = curl_multi_exec($this->multi, $running);
        } while ($status === CURLM_CALL_MULTI_PERFORM);
        $this->harvest();
        if ($running > 0 && curl_multi_select($this->multi, 0.05) === -1) {
            usleep(1000); // select failed (no fds yet); avoid a hot loop
        }
    }

    /** Moves completed transfers from pending to finished. */
    private function harvest(): void
    {
        while (($info = curl_multi_info_read($this->multi)) !== false) {
            foreach ($this->pending as $id => $entry) {
                if ($entry['handle'] !== $info['handle']) {
                    continue;
                }
                $handle = $entry['handle'];
                $request = $entry['request'];
                if ($info['result'] !== CURLE_OK) {
                    $this->finished[$id] = $this->connectionError(
                        $request,
                        curl_error($handle) ?: curl_strerror($info['result']),
                        $info['result'],
                        $entry['started'],
                        1
                    );
                } else {
                    $response = new Response(
                        (int) curl_getinfo($handle, CURLINFO_RESPONSE_CODE),
                        (string) curl_multi_getcontent($handle)
                    );
                    $this->logResponse($request, $response, $entry['started'], 1, (int) curl_getinfo($handle, CURLINFO_NUM_CONNECTS));
                    $this->finished[$id] = $response;
                }
                curl_multi_remove_handle($this->multi, $handle);
                curl_close($handle);
                unset($this->pending[$id]);
                break;
            }
        }
    }

    private function configure(\CurlHandle $handle, Request $request): void
    {
        $options = [
            CURLOPT_URL => $request->url,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_HTTPHEADER => $request->headers,
            CURLOPT_TIMEOUT_MS => (int) round($this->timeout * 1000),
            CURLOPT_CONNECTTIMEOUT_MS => (int) round($this->connectTimeout * 1000),
            CURLOPT_TCP_KEEPALIVE => 1,
            CURLOPT_NOSIGNAL => 1,
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_PROTOCOLS => CURLPROTO_HTTP | CURLPROTO_HTTPS,
        ];
        if ($request->method === 'GET') {
            $options[CURLOPT_HTTPGET] = true;
        } else {
            $options[CURLOPT_CUSTOMREQUEST] = $request->method;
            $options[CURLOPT_POSTFIELDS] = $request->body ?? '';
        }
        curl_setopt_array($handle, $this->curlOptions + $options);
    }

    private function connectionError(
        Request $request,
        string $error,
        int $errno,
        float $started,
        int $attempt
    ): ConnectionException {
        ($this->log)('error', 'Realtime: {method} {path} network error: {error}', [
            'method' => $request->method,
            'path' => $request->logPath,
            'error' => $error,
            'curl_errno' => $errno,
            'attempt' => $attempt,
            'duration_ms' => (int) round((microtime(true) - $started) * 1000),
        ]);
        return new ConnectionException(
            sprintf('Could not reach the Realtime server (%s %s): %s', $request->method, $request->logPath, $error),
            $errno
        );
    }

    /**
     * Logs method, path, status and timing; never the query (it holds the signature).
     * new_connections is 0 when the request reused a kept-alive connection.
     */
    private function logResponse(
        Request $request,
        Response $response,
        float $started,
        int $attempt,
        int $newConnections
    ): void {
        $ok = $response->status === 200;
        ($this->log)($ok ? 'debug' : 'error', 'Realtime: {method} {path} -> {status}', [
            'method' => $request->method,
            'path' => $request->logPath,
            'status' => $response->status,
            'attempt' => $attempt,
            'new_connections' => $newConnections,
            'duration_ms' => (int) round((microtime(true) - $started) * 1000),
        ] + ($ok ? [] : ['body' => substr($response->body, 0, 500)]));
    }
}
