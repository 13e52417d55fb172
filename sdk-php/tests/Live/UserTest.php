<?php

// User authentication, server-to-user delivery and termination with a signed-in pusher-js.

declare(strict_types=1);

namespace Realtime\Tests\Live;

final class UserTest extends LiveTestCase
{
    public function testSendToUserReachesEverySignedInSocketOfThatUser(): void
    {
        $id = self::unique('user-');
        $first = $this->subscribe([], ['id' => $id, 'user_info' => ['name' => 'Ada']]);
        $second = $this->subscribe([], ['id' => $id]);
        $bystander = $this->subscribe([], ['id' => self::unique('other-')]);
        $this->assertEquals(new \stdClass(), $this->pusher()->sendToUser($id, 'notice', ['text' => 'hi']));
        $this->assertSame(['text' => 'hi'], $first->waitEvent("#server-to-user-$id", 'notice')['data']);
        $this->assertSame(['text' => 'hi'], $second->waitEvent("#server-to-user-$id", 'notice')['data']);
        $bystander->pump(0.3);
        $this->assertSame([], array_filter($bystander->lines, static fn ($l) => $l['type'] === 'event'));
    }

    public function testSendToUserAsync(): void
    {
        $id = self::unique('user-');
        $sub = $this->subscribe([], ['id' => $id]);
        $this->pusher()->sendToUserAsync($id, 'later', 7)->wait();
        $this->assertSame(7, $sub->waitEvent("#server-to-user-$id", 'later')['data']);
    }

    public function testTerminateUserConnectionsDisconnectsThatUserOnly(): void
    {
        $id = self::unique('user-');
        $victim = $this->subscribe([], ['id' => $id]);
        $other = $this->subscribe([], ['id' => self::unique('other-')]);
        $this->assertEquals(new \stdClass(), $this->pusher()->terminateUserConnections($id));
        $victim->waitFor(
            static fn (array $l) => $l['type'] === 'state' && $l['current'] !== 'connected',
            5.0,
            'the terminated user to be disconnected'
        );
        $other->pump(0.3);
        $states = array_filter($other->lines, static fn ($l) => $l['type'] === 'state');
        $this->assertSame('connected', end($states)['current']);
    }
}
