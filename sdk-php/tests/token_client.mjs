// A raw WebSocket client for the PHP live tests of connection tokens: connects to URL (which
// carries ?token=...), subscribes to CHANNEL (if given) once connected, prints one JSON line
// per message received and {"closed":{code,reason}} when the server closes, and exits 1 s
// after the subscription is answered (or at once on close).
// Usage: node token_client.mjs URL [CHANNEL]
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const sourceDir = process.env.RT_SOURCE_DIR || path.resolve(here, '../..');
const WebSocket = createRequire(path.join(sourceDir, 'tests', 'package.json'))('ws');
const [url, channel] = process.argv.slice(2);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

const ws = new WebSocket(url);
const finish = () => setTimeout(() => process.exit(0), 1000);
ws.on('message', (buf) => {
  const m = JSON.parse(buf.toString('utf8'));
  out(m);
  if (m.event === 'pusher:connection_established') {
    if (!channel) return finish();
    ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel } }));
  } else if (m.channel === channel) {
    finish();
  }
});
ws.on('close', (code, reason) => {
  out({ closed: { code, reason: reason.toString('utf8') } });
  process.exit(0);
});
ws.on('error', (e) => out({ error: e.message }));
setTimeout(() => process.exit(2), 5000);
