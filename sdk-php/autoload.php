<?php

// Autoloader for projects without Composer: `require __DIR__ . '/sdk-php/autoload.php';`
// maps Realtime\Foo\Bar to src/Foo/Bar.php (the same PSR-4 layout composer.json declares).

declare(strict_types=1);

spl_autoload_register(static function (string $class): void {
    $prefix = 'Realtime\\';
    if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
        return;
    }
    $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
