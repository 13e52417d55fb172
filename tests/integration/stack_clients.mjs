// Child process of stack.test.mjs, started with NODE_EXTRA_CA_CERTS = the load balancer's
// self-signed certificate so that real pusher-js connects over wss:// through HAProxy, and
// the `pusher` SDK publishes over https:// through it. Prints one JSON line with what it saw.
//   smoke: N clients subscribe, one event is triggered, every client must receive it.
//   drain: N clients connected; a publisher triggers every 50 ms; node `drainPid` gets
//          SIGTERM; records each client's 4200 time, its socket ids before and after, and
//          the status of every REST request.
import Pusher from 'pusher';
import PusherJs from 'pusher-js';

const opts = JSON.parse(process.argv[2]);
const { port, app, mode, clients: n } = opts;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const out = { clients: [], rest: [] };
const rest = new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(port), useTLS: true });

function client(i) {
  const rec = { i, socketIds: [], events: [], errors: [], state: null };
  const c = new PusherJs(app.key, {
    wsHost: '127.0.0.1', wsPort: port, wssPort: port, forceTLS: true, enabledTransports: ['ws', 'wss'],
    disableStats: true, cluster: 'mt1',
  });
  c.connection.bind('connected', () => rec.socketIds.push(c.connection.socket_id));
  c.connection.bind('state_change', (s) => (rec.state = s.current));
  c.connection.bind('error', (e) => { if (e?.data?.code) rec.errors.push({ code: e.data.code, at: Date.now() }); });
  const ch = c.subscribe('feed');
  ch.bind('tick', (d) => rec.events.push(d.n));
  rec.subscribed = new Promise((resolve) => ch.bind('pusher:subscription_succeeded', resolve));
  out.clients.push(rec);
  return c;
}

async function until(pred, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (pred()) return true; await sleep(20); }
  return false;
}

const timer = setTimeout(() => { console.log(JSON.stringify({ ...out, timeout: true })); process.exit(1); }, 60000);
const cs = [];
for (let i = 0; i < n; i++) cs.push(client(i));
await Promise.all(out.clients.map((r) => r.subscribed));

if (mode === 'smoke') {
  const res = await rest.trigger('feed', 'tick', { n: 1 });
  out.rest.push(res.status);
  await until(() => out.clients.every((r) => r.events.length === 1), 5000);
} else {
  let seq = 0;
  let publishing = true;
  const publisher = (async () => {
    while (publishing) {
      const k = ++seq;
      try {
        const res = await rest.trigger('feed', 'tick', { n: k });
        out.rest.push(res.status);
      } catch (e) {
        out.rest.push(e.status ?? String(e.message ?? e));
      }
      await sleep(50);
    }
  })();
  await sleep(300);
  out.sigtermAt = Date.now();
  process.kill(opts.drainPid, 'SIGTERM');
  // Everyone on the draining node is told to go and comes back through the balancer.
  const drained = out.clients.filter((r) => r.socketIds[0].startsWith(opts.drainPrefix));
  await until(() => out.clients.every((r) => r.state === 'connected') && drained.every((r) => r.socketIds.length >= 2), opts.windowMs + 10000);
  await sleep(500);
  publishing = false;
  await publisher;
  out.lastSeq = seq;
}
for (const r of out.clients) r.final = r.state;
for (const c of cs) c.disconnect();
clearTimeout(timer);
console.log(JSON.stringify(out));
process.exit(0);
