// Child process of tls.test.mjs (started with NODE_EXTRA_CA_CERTS so Node trusts the test's
// self-signed certificate): real pusher-js with forceTLS subscribes, the `pusher` SDK triggers
// over https, and the outcome is printed as one JSON line.
import Pusher from 'pusher';
import PusherJs from 'pusher-js';

const { port, app, channel } = JSON.parse(process.argv[2]);
const result = { state: null, triggerStatus: null, received: null };
const client = new PusherJs(app.key, {
  wsHost: '127.0.0.1', wsPort: port, wssPort: port, forceTLS: true, enabledTransports: ['ws', 'wss'],
  disableStats: true, cluster: 'mt1',
});
const done = (code) => {
  client.disconnect();
  console.log(JSON.stringify(result));
  process.exit(code);
};
setTimeout(() => done(1), 15000);
client.connection.bind('connected', () => { result.state = 'connected'; });
const ch = client.subscribe(channel);
ch.bind('headline', (data) => { result.received = data; done(0); });
ch.bind('pusher:subscription_succeeded', async () => {
  const rest = new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(port), useTLS: true });
  const res = await rest.trigger(channel, 'headline', { headline: 'over TLS' });
  result.triggerStatus = res.status;
});
