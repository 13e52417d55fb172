<?php

// Channel and presence queries against rtserver with real pusher-js members.

declare(strict_types=1);

namespace Realtime\Tests\Live;

final class ChannelQueryTest extends LiveTestCase
{
    public function testGetChannelInfoOfOccupiedAndEmptyChannels(): void
    {
        $channel = self::unique('info-');
        $this->subscribe([$channel]);
        $pusher = $this->pusher();
        $this->assertTrue($pusher->getChannelInfo($channel)->occupied);
        $this->assertFalse($pusher->getChannelInfo(self::unique('nobody-'))->occupied);
    }

    public function testPresenceChannelInfoUsersAndChannelList(): void
    {
        $channel = self::unique('presence-lobby-');
        $this->subscribe([$channel], null, ['user_id' => 'ada', 'user_info' => ['name' => 'Ada']]);
        $this->subscribe([$channel], null, ['user_id' => 'bob']);
        $this->subscribe([$channel], null, ['user_id' => 'bob']); // same user, second socket
        $pusher = $this->pusher();

        $info = $pusher->getChannelInfo($channel, ['info' => 'user_count']);
        $this->assertTrue($info->occupied);
        $this->assertSame(2, $info->user_count);

        $users = $pusher->getPresenceUsers($channel)->users;
        $ids = array_map(static fn (object $u) => $u->id, $users);
        sort($ids);
        $this->assertSame(['ada', 'bob'], $ids);

        $list = $pusher->getChannels(['filter_by_prefix' => 'presence-', 'info' => 'user_count']);
        $this->assertIsArray($list->channels);
        $this->assertSame(2, $list->channels[$channel]->user_count);
    }

    public function testGetChannelsListsOccupiedChannelsWithPrefixFilter(): void
    {
        $prefix = self::unique('list') . '-';
        $this->subscribe([$prefix . 'one', $prefix . 'two']);
        $channels = $this->pusher()->getChannels(['filter_by_prefix' => $prefix])->channels;
        $names = array_keys($channels);
        sort($names);
        $this->assertSame([$prefix . 'one', $prefix . 'two'], $names);
    }

    public function testRawGetReturnsObjectsOrArrays(): void
    {
        $channel = self::unique('raw-get-');
        $this->subscribe([$channel]);
        $this->assertTrue($this->pusher()->get('/channels/' . $channel)->occupied);
        $this->assertSame(true, $this->pusher()->get('/channels/' . $channel, [], true)['occupied']);
    }
}
