<?php

// Client-side checks of everything the server would refuse (PROTOCOL.md §5.1, §14.3, §16),
// so mistakes surface as clear exceptions before a request is sent.

declare(strict_types=1);

namespace Realtime;

/**
 * Stateless checks configured with the limits of the target app. Each method returns nothing
 * and throws, naming the offending value and the rule it breaks: ValidationException
 * (a PusherException, as pusher-php-server throws) for malformed input, LimitExceededException
 * (an ApiErrorException with the server's status) for sizes and counts over a limit.
 */
final class Validator
{
    public const SERVER_TO_USER_PREFIX = '#server-to-user-';

    private const NAME_PATTERN = '/\A[A-Za-z0-9_\-=@,.;]+\z/';
    private const SOCKET_ID_PATTERN = '/\A\d+\.\d+\z/';

    public function __construct(
        private int $maxChannelNameLength = 200,
        private int $maxEventNameLength = 200,
        private int $maxChannelsPerTrigger = 100,
        private int $maxDataSize = 10240,
        private int $maxBatchSize = 10
    ) {
    }

    /**
     * A channel name that may be published to: the §5.1 character set, at most the length
     * limit, or `#server-to-user-{user_id}` (the only `#` channel a publisher may target).
     */
    public function channel(string $channel): void
    {
        if ($channel === '') {
            throw new ValidationException('Invalid channel name: it is empty');
        }
        if (strlen($channel) > $this->maxChannelNameLength) {
            throw new LimitExceededException(sprintf(
                'Invalid channel name %s: it is %d characters long, the limit is %d',
                self::excerpt($channel),
                strlen($channel),
                $this->maxChannelNameLength
            ), 400);
        }
        $name = $channel;
        if (str_starts_with($channel, '#')) {
            if (!str_starts_with($channel, self::SERVER_TO_USER_PREFIX)
                || strlen($channel) === strlen(self::SERVER_TO_USER_PREFIX)) {
                throw new ValidationException(
                    'Invalid channel name ' . self::excerpt($channel)
                    . ': "#" is reserved for #server-to-user-{user_id} channels'
                );
            }
            $name = substr($channel, strlen(self::SERVER_TO_USER_PREFIX));
        }
        if (!preg_match(self::NAME_PATTERN, $name)) {
            throw new ValidationException(
                'Invalid channel name ' . self::excerpt($channel)
                . ': only A-Z a-z 0-9 _ - = @ , . ; are allowed'
            );
        }
    }

    /**
     * The channel list of one trigger: 1..limit valid names, and an encrypted channel only on
     * its own (each encrypted channel has its own key, so one payload cannot serve several).
     *
     * @param string[] $channels
     */
    public function channels(array $channels): void
    {
        if ($channels === []) {
            throw new ValidationException('At least one channel is required');
        }
        if (count($channels) > $this->maxChannelsPerTrigger) {
            throw new ValidationException(sprintf(
                'An event can be triggered on at most %d channels in one call, got %d',
                $this->maxChannelsPerTrigger,
                count($channels)
            ));
        }
        $encrypted = false;
        foreach ($channels as $channel) {
            if (!is_string($channel)) {
                throw new ValidationException('Channel names must be strings');
            }
            $this->channel($channel);
            $encrypted = $encrypted || PusherCrypto::is_encrypted_channel($channel);
        }
        if ($encrypted && count($channels) > 1) {
            throw new ValidationException(
                'You cannot trigger to multiple channels when using encrypted channels'
            );
        }
    }

    /** Event names: non-empty and at most the length limit. */
    public function eventName(string $event): void
    {
        if ($event === '') {
            throw new ValidationException('Invalid event name: it is empty');
        }
        if (strlen($event) > $this->maxEventNameLength) {
            throw new LimitExceededException(sprintf(
                'Invalid event name %s: it is %d characters long, the limit is %d',
                self::excerpt($event),
                strlen($event),
                $this->maxEventNameLength
            ), 400);
        }
    }

    /** The encoded `data` string as it will be sent (after encryption), in bytes. */
    public function data(string $data): void
    {
        if (strlen($data) > $this->maxDataSize) {
            throw new LimitExceededException(sprintf(
                'Event data is %d bytes, the limit is %d bytes (option max_data_size)',
                strlen($data),
                $this->maxDataSize
            ), 413);
        }
    }

    /** Socket IDs look like "123.456"; null means "no socket to exclude". */
    public function socketId(?string $socketId): void
    {
        if ($socketId !== null && !preg_match(self::SOCKET_ID_PATTERN, $socketId)) {
            throw new ValidationException('Invalid socket ID ' . self::excerpt($socketId)
                . ': expected digits.digits, e.g. "1234.5678"');
        }
    }

    /** User IDs: non-empty, within the channel character set (they end up in channel names). */
    public function userId(string $userId): void
    {
        if ($userId === '') {
            throw new ValidationException('Invalid user id: it is empty');
        }
        if (!preg_match(self::NAME_PATTERN, $userId)) {
            throw new ValidationException('Invalid user id ' . self::excerpt($userId)
                . ': only A-Z a-z 0-9 _ - = @ , . ; are allowed');
        }
    }

    /** Batch size of triggerBatch: 1..limit events. */
    public function batchSize(int $count): void
    {
        if ($count === 0) {
            throw new ValidationException('A batch needs at least one event');
        }
        if ($count > $this->maxBatchSize) {
            throw new LimitExceededException(sprintf(
                'A batch can hold at most %d events, got %d (option max_batch_size)',
                $this->maxBatchSize,
                $count
            ), 400);
        }
    }

    /** Shortens long user input for messages so exceptions stay readable. */
    private static function excerpt(string $value): string
    {
        $shown = strlen($value) > 60 ? substr($value, 0, 57) . '...' : $value;
        return '"' . $shown . '"';
    }
}
