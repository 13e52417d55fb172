<?php

// Compat::aliasPusherNamespace() stands in for pusher-php-server only when that package is
// not installed: an autoloadable official class wins, even if it has not been loaded yet.

declare(strict_types=1);

namespace Realtime\Tests\Unit;

use PHPUnit\Framework\TestCase;
use Realtime\Compat;
use Realtime\Tests\Support\OfficialSdk;

final class CompatTest extends TestCase
{
    /** Registers an autoloader for a stand-in Pusher\ package, as Composer would. */
    private static function installStandInPackage(): string
    {
        $dir = sys_get_temp_dir() . '/sdk-php-compat-' . getmypid();
        @mkdir($dir);
        foreach (['Pusher' => 'class Pusher {}', 'PusherException' => 'class PusherException extends \Exception {}',
                  'ApiErrorException' => 'class ApiErrorException extends PusherException {}'] as $name => $code) {
            file_put_contents("$dir/$name.php", "<?php\nnamespace Pusher;\n$code\n");
        }
        spl_autoload_register(static function (string $class) use ($dir): void {
            $file = $dir . '/' . substr($class, strlen('Pusher\\')) . '.php';
            if (str_starts_with($class, 'Pusher\\') && is_file($file)) {
                require $file;
            }
        });
        return $dir;
    }

    /** @runInSeparateProcess */
    public function testAliasesEveryNameWhenTheOfficialPackageIsAbsent(): void
    {
        $this->assertSame([
            'Pusher\\Pusher', 'Pusher\\PusherInterface', 'Pusher\\PusherException',
            'Pusher\\ApiErrorException', 'Pusher\\PusherCrypto', 'Pusher\\Webhook',
        ], Compat::aliasPusherNamespace());
        $this->assertInstanceOf(\Realtime\Pusher::class, new \Pusher\Pusher('key12345', 'secret', '1'));
        $this->assertInstanceOf('Pusher\\PusherInterface', new \Realtime\Pusher('key12345', 'secret', '1'));
        $this->assertSame([], Compat::aliasPusherNamespace(), 'a second call changes nothing');
    }

    /** @runInSeparateProcess */
    public function testInstalledButNotYetLoadedOfficialPackageIsLeftAlone(): void
    {
        $dir = self::installStandInPackage();
        $this->assertFalse(class_exists('Pusher\\Pusher', false), 'nothing loaded it yet');
        $this->assertSame([], Compat::aliasPusherNamespace());
        $this->assertSame("$dir/Pusher.php", (new \ReflectionClass('Pusher\\Pusher'))->getFileName());
        $this->assertFalse(is_a('Pusher\\ApiErrorException', \Realtime\ApiErrorException::class, true));
        $this->assertFalse(interface_exists('Pusher\\PusherInterface', false), 'no half-aliased namespace');
    }

    /** @runInSeparateProcess */
    public function testTheRealPusherPhpServerIsLeftAlone(): void
    {
        $reason = OfficialSdk::unavailableReason();
        if ($reason !== null) {
            $this->markTestSkipped($reason);
        }
        require_once 'GuzzleHttp/autoload.php';
        require_once 'Psr/Log/autoload.php';
        $dir = OfficialSdk::dir();
        spl_autoload_register(static function (string $class) use ($dir): void {
            $file = $dir . '/src/' . substr($class, strlen('Pusher\\')) . '.php';
            if (str_starts_with($class, 'Pusher\\') && is_file($file)) {
                require $file;
            }
        });
        $this->assertSame([], Compat::aliasPusherNamespace());
        $official = new \Pusher\Pusher('key12345', 'secret', '1');
        $this->assertNotInstanceOf(\Realtime\Pusher::class, $official);
        $this->assertInstanceOf('Pusher\\PusherInterface', $official);
    }
}
