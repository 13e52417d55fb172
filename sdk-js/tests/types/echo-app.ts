// A TypeScript app the way Laravel's docs write one, with sdk-js where pusher-js was.
// tests/types.test.mjs runs `tsc --noEmit` on it: it must type-check, and the lines expected
// to be errors (marked below) must really be errors.
import Echo from 'laravel-echo';
import type { Options as PusherJsOptions } from 'pusher-js';
import Realtime, {
  type RealtimeOptions,
  type Channel,
  type PresenceChannel,
  type ChannelAuthorizationData,
} from '@realtime/sdk-js';

// Every option pusher-js 8 accepts is accepted as it is.
declare const pusherJsOptions: PusherJsOptions;
const fromPusherJsOptions: RealtimeOptions = pusherJsOptions;
new Realtime('app-key', fromPusherJsOptions);

// The options object of Laravel's Echo docs, handed to both the client and Echo.
const client = new Realtime('app-key', {
  cluster: 'mt1',
  wsHost: 'realtime.example.com',
  wsPort: 80,
  wssPort: 443,
  forceTLS: false,
  enabledTransports: ['ws', 'wss'],
  disabledTransports: ['sockjs', 'xhr_streaming', 'xhr_polling'],
  enableStats: false,
  disableStats: true,
  authEndpoint: '/broadcasting/auth',
  authTransport: 'ajax',
  auth: { headers: { 'X-CSRF-TOKEN': 'token' }, params: { team: '7' } },
  // The deprecated authorizer of Echo's docs: callback(false, data) / callback(true, error).
  authorizer: (channel, options) => ({
    authorize: (socketId, callback) => {
      const body = { socket_id: socketId, channel_name: channel.name, endpoint: options.authEndpoint };
      fetch('/api/broadcasting/auth', { method: 'POST', body: JSON.stringify(body) })
        .then((response) => response.json())
        .then((data: ChannelAuthorizationData) => callback(false, data))
        .catch((error: Error) => callback(true, error));
    },
  }),
  userAuthentication: { endpoint: '/broadcasting/user-auth', transport: 'ajax', headers: {} },
});

new Realtime('app-key', {
  channelAuthorization: {
    transport: 'jsonp',
    endpoint: '/broadcasting/auth',
    paramsProvider: () => ({ team: '7' }),
  },
  userAuthentication: {
    customHandler: ({ socketId }, callback) => callback(null, { auth: socketId, user_data: '{"id":"1"}' }),
  },
});

const echo = new Echo({ broadcaster: 'pusher', key: 'app-key', client });
echo.private('chat').listenForWhisper('typing', (e: { name: string }) => e.name).whisper('typing', { name: 'ada' });
echo.join('room').here((users: { name: string }[]) => users).joining(() => {}).leaving(() => {});
echo.encryptedPrivate('vault').listen('Secret', () => {});
const socketId: string | undefined = echo.socketId();

// The pusher-js channel registry Echo's whisper() reads.
const chat: Channel | undefined = client.channels.channels['private-chat'];
const found: Channel | undefined = client.channels.find('private-chat');
const every: Channel[] = client.channels.all();
chat?.trigger('client-typing', { name: 'ada' });

const room = client.subscribe('presence-room');
const members: PresenceChannel['members'] = room.members;
members.each((member) => member.info);
client.user.signinDone().then(() => client.user.user_data?.id);

// @ts-expect-error authTransport is 'ajax' or 'jsonp'
new Realtime('app-key', { authTransport: 'pigeon' });
// @ts-expect-error a transport pusher-js does not have
new Realtime('app-key', { enabledTransports: ['carrier'] });

export { socketId, found, every };
