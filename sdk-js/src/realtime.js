// The client object applications create: options, the channel registry and message routing.
import { Dispatcher } from './events.js';
import { Connection } from './connection.js';
import { channelAuthorizer, userAuthenticator, legacyAuthorizer } from './auth.js';
import { Channels } from './channels.js';
import { User } from './user.js';
import { tokenClaims, tokenGrants } from './protocol.js';

/**
 * Channel authorization settings as pusher-js reads them: `channelAuthorization` when given,
 * else the deprecated authEndpoint / auth / authTransport (and `authorizer`, see the constructor).
 */
function channelAuthorization(options) {
  if (options.channelAuthorization) return { transport: 'ajax', endpoint: '/pusher/auth', ...options.channelAuthorization };
  const legacy = options.auth || {};
  return {
    transport: options.authTransport || 'ajax',
    endpoint: options.authEndpoint || '/pusher/auth',
    headers: legacy.headers,
    params: legacy.params,
  };
}

/** Fills in defaults; accepts the pusher-js spellings (authEndpoint, auth.headers, ...). */
function resolveOptions(options) {
  const location = globalThis.location;
  const browser = typeof globalThis.addEventListener === 'function' ? globalThis : null;
  const fetchFn = options.fetch || (globalThis.fetch && globalThis.fetch.bind(globalThis));
  return {
    host: options.wsHost || (location && location.hostname) || 'localhost',
    wsPort: options.wsPort || 80,
    wssPort: options.wssPort || 443,
    wsPath: options.wsPath || '',
    // pusher-js's rule: TLS unless forceTLS === false, and always on an https page.
    useTLS: (location && location.protocol === 'https:') || options.forceTLS !== false,
    WebSocket: options.WebSocket || globalThis.WebSocket,
    activityTimeout: options.activityTimeout || 120000,
    pongTimeout: options.pongTimeout || 30000,
    unavailableTimeout: options.unavailableTimeout || 10000,
    connectTimeout: options.connectTimeout || 10000,
    reconnectDelay: options.reconnectDelay || 1000,
    maxReconnectDelay: options.maxReconnectDelay || 30000,
    networkEvents: options.networkEvents !== undefined ? options.networkEvents : browser,
    channelAuthorization: channelAuthorization(options),
    userAuthentication: { transport: 'ajax', endpoint: '/pusher/user-auth', ...(options.userAuthentication || {}) },
    authRequest: { fetch: fetchFn, timeout: options.authTimeout || 10000 },
    token: options.token,
  };
}

/**
 * A connection to a Realtime (Pusher protocol 7) server.
 * @example
 * const rt = new Realtime('app-key', { wsHost: 'rt.example.com', forceTLS: true });
 * rt.subscribe('orders').bind('order.shipped', (data) => console.log(data));
 */
export class Realtime {
  /** @param {string} key the app key @param {object} [options] */
  constructor(key, options = {}) {
    if (!key) throw new TypeError('Realtime needs an app key');
    this.key = key;
    this.config = resolveOptions(options);
    this._signinWithToken = Boolean(options.token);
    /** pusher-js's channel registry: channels.channels[name], channels.find(name), channels.all(). */
    this.channels = new Channels();
    if (options.authorizer && !options.channelAuthorization) {
      const auth = this.config.channelAuthorization;
      auth.customHandler = legacyAuthorizer(options.authorizer, auth, (name) => this.channel(name));
    }
    this.global_emitter = new Dispatcher();
    this._authorize = channelAuthorizer(this.config.channelAuthorization, this.config.authRequest);
    this._authenticate = userAuthenticator(this.config.userAuthentication, this.config.authRequest);
    this.connection = new Connection(key, this.config);
    this.user = new User(this);
    // A connection token signs the socket in: sign in with it after each (re)connection so that
    // user_data, server-to-user events and the watchlist work as after signin().
    if (this._signinWithToken) this.user.signin();

    this.connection.bind('message', (message) => this._route(message));
    this.connection.bind('state_change', ({ previous, current }) => {
      if (current === 'connected') {
        for (const channel of this.channels.all()) channel.subscribe();
        this.user._signin();
      } else if (previous === 'connected') {
        for (const channel of this.channels.all()) {
          // A subscription cancelled while in flight is finished with: don't resubscribe it.
          if (channel.subscriptionCancelled) this.channels.remove(channel.name);
          channel.disconnect();
        }
        this.user.onDisconnected();
      }
    });
    // Connect on the next microtask, so listeners bound right after construction see
    // initialized → connecting too. A disconnect() before then cancels it.
    queueMicrotask(() => this.connection.state === 'initialized' && this.connect());
  }

  /** Opens the connection (done after construction; call again after disconnect()). */
  connect() {
    this.connection.connect();
  }

  /** Closes the connection; channels are kept and resubscribed by a later connect(). */
  disconnect() {
    this.connection.disconnect();
  }

  /**
   * Subscribes to a channel (idempotent) and returns it. Private, presence and encrypted
   * channels are authorized through `channelAuthorization` first.
   */
  subscribe(name) {
    const channel = this.channels.add(name, this);
    if (channel.subscriptionPending && channel.subscriptionCancelled) channel.reinstateSubscription();
    else if (!channel.subscriptionPending && this.connection.state === 'connected') channel.subscribe();
    return channel;
  }

  /** Unsubscribes; a subscription still in flight is cancelled when it completes. */
  unsubscribe(name) {
    const channel = this.channels.find(name);
    if (!channel) return;
    if (channel.subscriptionPending) {
      channel.cancelSubscription();
      return;
    }
    this.channels.remove(name);
    if (channel.subscribed) channel.unsubscribe();
  }

  /** Returns the channel object for a name, or undefined when not subscribed. */
  channel(name) {
    return this.channels.find(name);
  }

  /** Returns every channel object. */
  allChannels() {
    return this.channels.all();
  }

  /** Signs the connection in as a user via `userAuthentication` (and again on reconnect). */
  signin() {
    this.user.signin();
  }

  /** Sends a raw event; returns false when not connected. */
  send_event(event, data, channel) {
    return this.connection.sendEvent(event, data, channel);
  }

  bind(event, callback, context) {
    this.global_emitter.bind(event, callback, context);
    return this;
  }

  unbind(event, callback, context) {
    this.global_emitter.unbind(event, callback, context);
    return this;
  }

  bind_global(callback) {
    this.global_emitter.bind_global(callback);
    return this;
  }

  unbind_global(callback) {
    this.global_emitter.unbind_global(callback);
    return this;
  }

  unbind_all() {
    this.global_emitter.unbind_all();
    return this;
  }

  /** @internal used by channels */
  authorizeChannel(socketId, channelName) {
    return this._authorize(socketId, channelName);
  }

  /**
   * @internal used by channels: the connection token's claims when it grants channelName
   * (the server then needs no authorization for it), else null.
   */
  tokenGrant(channelName) {
    const claims = tokenClaims(this.connection.token);
    return claims && tokenGrants(claims, channelName) ? claims : null;
  }

  /** @internal used by the user */
  authenticateUser(socketId) {
    return this._authenticate(socketId);
  }

  /** Delivers a frame to its channel (or the user) and to global listeners. */
  _route(message) {
    const { event, channel: name } = message;
    if (name) {
      const userChannel = this.user.serverToUserChannel;
      const channel = userChannel && userChannel.name === name ? userChannel : this.channels.find(name);
      if (channel) channel.handleEvent(message);
    } else {
      this.user.handleMessage(message);
    }
    if (!event.startsWith('pusher_internal:')) this.global_emitter.emit(event, message.data);
  }
}
