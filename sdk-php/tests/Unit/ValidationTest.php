<?php

// Input validation happens before anything is sent (PROTOCOL.md §5.1, §14.3, §16). The client
// points at a closed port: a ConnectionException would mean a request was attempted.

declare(strict_types=1);

namespace Realtime\Tests\Unit;

use PHPUnit\Framework\TestCase;
use Realtime\LimitExceededException;
use Realtime\PusherException;
use Realtime\Pusher;
use Realtime\Tests\Support\Ports;
use Realtime\ValidationException;
use Realtime\Validator;

final class ValidationTest extends TestCase
{
    private function pusher(array $options = []): Pusher
    {
        return new Pusher('key12345', 'secret', '1', $options + [
            'host' => '127.0.0.1',
            'port' => Ports::free(),
            'scheme' => 'http',
            'retries' => 0,
        ]);
    }

    public function validChannelNames(): array
    {
        return [
            'public' => ['my-channel'],
            'every allowed character' => ['AZaz09_-=@,.;'],
            'private' => ['private-orders'],
            'presence cache' => ['presence-cache-room-1'],
            'encrypted' => ['private-encrypted-x'],
            'server-to-user' => ['#server-to-user-42'],
            '200 characters' => [str_repeat('a', 200)],
        ];
    }

    public function invalidChannelNames(): array
    {
        return [
            'empty' => [''],
            'space' => ['my channel'],
            'slash' => ['a/b'],
            'colon' => ['a:b'],
            'unicode' => ['caf\u{e9}'],
            'hash other than server-to-user' => ['#internal'],
            'server-to-user without id' => ['#server-to-user-'],
            'server-to-user with bad id' => ['#server-to-user-a b'],
            'hash inside' => ['a#b'],
            '201 characters' => [str_repeat('a', 201)],
        ];
    }

    /** @dataProvider validChannelNames */
    public function testValidChannelNameIsAccepted(string $channel): void
    {
        (new Validator())->channel($channel);
        $this->addToAssertionCount(1);
    }

    /** @dataProvider invalidChannelNames */
    public function testInvalidChannelNameIsRejectedBeforeSending(string $channel): void
    {
        // ValidationException, or LimitExceededException for the length (see LimitErrorTest).
        $this->expectException(PusherException::class);
        $this->expectExceptionMessage('Invalid channel name');
        $this->pusher()->trigger($channel, 'e', 'x');
    }

    public function testChannelNameLimitIsConfigurable(): void
    {
        $this->expectExceptionMessage('the limit is 20');
        $this->pusher(['max_channel_name_length' => 20])->trigger(str_repeat('a', 21), 'e', 'x');
    }

    public function testMoreThan100ChannelsAreRejected(): void
    {
        $channels = array_map(static fn (int $i) => "c$i", range(1, 101));
        $this->expectException(ValidationException::class);
        $this->expectExceptionMessage('at most 100 channels in one call, got 101');
        $this->pusher()->trigger($channels, 'e', 'x');
    }

    public function testEmptyChannelListIsRejected(): void
    {
        $this->expectExceptionMessage('At least one channel is required');
        $this->pusher()->trigger([], 'e', 'x');
    }

    public function testEventNameOver200CharactersIsRejected(): void
    {
        $this->expectException(LimitExceededException::class);
        $this->expectExceptionMessage('it is 201 characters long, the limit is 200');
        $this->pusher()->trigger('c', str_repeat('e', 201), 'x');
    }

    public function testEmptyEventNameIsRejected(): void
    {
        $this->expectExceptionMessage('Invalid event name: it is empty');
        $this->pusher()->trigger('c', '', 'x');
    }

    public function testDataOver10KbIsRejectedByDefault(): void
    {
        // json_encode adds two quotes: 10239 characters become 10241 bytes.
        $this->expectException(LimitExceededException::class);
        $this->expectExceptionMessage('Event data is 10241 bytes, the limit is 10240 bytes');
        $this->pusher()->trigger('c', 'e', str_repeat('x', 10239));
    }

    public function testDataLimitIsConfigurable(): void
    {
        $this->expectExceptionMessage('the limit is 100 bytes');
        $this->pusher(['max_data_size' => 100])->trigger('c', 'e', str_repeat('x', 101), [], true);
    }

    public function testDataLimitAppliesToTheEncryptedPayload(): void
    {
        // 7000 bytes of plaintext grow past 10 KB once sealed and base64-encoded.
        $pusher = $this->pusher(['encryption_master_key_base64' => base64_encode(str_repeat('k', 32))]);
        $this->expectExceptionMessage('the limit is 10240 bytes');
        $pusher->trigger('private-encrypted-x', 'e', str_repeat('x', 7700), [], true);
    }

    public function invalidSocketIds(): array
    {
        return [['1234'], ['1234.'], ['.1'], ['a.b'], ['1.2.3'], ['1.2 '], ["1.2\n"]];
    }

    /** @dataProvider invalidSocketIds */
    public function testMalformedSocketIdIsRejectedOnTrigger(string $socketId): void
    {
        $this->expectExceptionMessage('Invalid socket ID');
        $this->pusher()->trigger('c', 'e', 'x', ['socket_id' => $socketId]);
    }

    /** @dataProvider invalidSocketIds */
    public function testMalformedSocketIdIsRejectedOnAuthorize(string $socketId): void
    {
        $this->expectExceptionMessage('Invalid socket ID');
        $this->pusher()->authorizeChannel('private-c', $socketId);
    }

    public function testEncryptedChannelMixedWithOthersIsRejected(): void
    {
        $pusher = $this->pusher(['encryption_master_key_base64' => base64_encode(str_repeat('k', 32))]);
        $this->expectException(ValidationException::class);
        $this->expectExceptionMessage('You cannot trigger to multiple channels when using encrypted channels');
        $pusher->trigger(['private-encrypted-a', 'public'], 'e', 'x');
    }

    public function testEncryptedChannelWithoutMasterKeyIsRejected(): void
    {
        $this->expectException(PusherException::class);
        $this->expectExceptionMessage('encryption_master_key_base64');
        $this->pusher()->trigger('private-encrypted-a', 'e', 'x');
    }

    public function testAuthorizingEncryptedChannelWithoutMasterKeyIsRejected(): void
    {
        $this->expectExceptionMessage('encryption_master_key_base64');
        $this->pusher()->authorizeChannel('private-encrypted-a', '1.2');
    }

    public function testBatchOver10EventsIsRejected(): void
    {
        $batch = array_fill(0, 11, ['channel' => 'c', 'name' => 'e', 'data' => 'x']);
        $this->expectExceptionMessage('A batch can hold at most 10 events, got 11');
        $this->pusher()->triggerBatch($batch);
    }

    public function testBatchEntryWithBadChannelIsRejected(): void
    {
        $this->expectExceptionMessage('Invalid channel name "bad channel"');
        $this->pusher()->triggerBatch([
            ['channel' => 'ok', 'name' => 'e', 'data' => 'x'],
            ['channel' => 'bad channel', 'name' => 'e', 'data' => 'x'],
        ]);
    }

    public function testBatchEntryWithoutDataIsRejected(): void
    {
        $this->expectExceptionMessage('Batch entry 0 needs channel, name and data');
        $this->pusher()->triggerBatch([['channel' => 'c', 'name' => 'e']]);
    }

    public function testEmptyUserIdIsRejectedOnSendToUser(): void
    {
        $this->expectExceptionMessage('Invalid user id');
        $this->pusher()->sendToUser('', 'e', 'x');
    }

    public function testUserIdWithSlashIsRejectedOnTerminate(): void
    {
        $this->expectExceptionMessage('Invalid user id "../1"');
        $this->pusher()->terminateUserConnections('../1');
    }

    public function testAuthenticateUserRequiresStringId(): void
    {
        $this->expectExceptionMessage('must be a non-empty string');
        $this->pusher()->authenticateUser('1.2', ['id' => 42]);
    }

    public function testAuthenticateUserRequiresId(): void
    {
        $this->expectExceptionMessage('user_data must include an "id"');
        $this->pusher()->authenticateUser('1.2', ['user_info' => []]);
    }

    public function testAlreadyEncodedDataMustBeAString(): void
    {
        $this->expectExceptionMessage('the data must be a string');
        $this->pusher()->trigger('c', 'e', ['a' => 1], [], true);
    }
}
