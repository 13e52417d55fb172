// Channel objects: public, private, presence and private-encrypted, each knowing how to
// authorize itself and how to read the events the server sends to it.
import { Dispatcher } from './events.js';
import { Members } from './members.js';
import { AuthError } from './auth.js';
import { parseMaybeJson } from './protocol.js';
import { loadEncryption } from './load-encryption.js';

const isInternal = (event) => event.startsWith('pusher:') || event.startsWith('pusher_internal:');

/** A public channel; the base of every other kind. */
export class Channel extends Dispatcher {
  /** @param {string} name @param {import('./realtime.js').Realtime} client */
  constructor(name, client) {
    super();
    this.name = name;
    this.client = client;
    this.subscribed = false;
    this.subscriptionPending = false;
    this.subscriptionCancelled = false;
    this.subscriptionCount = null;
  }

  /** Resolves with the data to send in pusher:subscribe besides the channel name. */
  async authorize() {
    return { auth: '' };
  }

  /** Sends a client event; only private and presence channels accept them on the server. */
  trigger(event, data) {
    if (!event.startsWith('client-')) throw new TypeError(`Event '${event}' does not start with 'client-'`);
    return this.client.send_event(event, data, this.name);
  }

  /**
   * Authorizes (when needed) and sends pusher:subscribe. A response that arrives after the
   * connection moved on (new socket_id) is dropped: the reconnect resubscribes anyway.
   */
  subscribe() {
    if (this.subscribed || this.subscriptionPending) return;
    this.subscriptionPending = true;
    this.subscriptionCancelled = false;
    const socketId = this.client.connection.socket_id;
    this.authorize(socketId).then(
      (data) => {
        if (!this.subscriptionPending || this.client.connection.socket_id !== socketId) return;
        this.client.send_event('pusher:subscribe', { ...data, channel: this.name });
      },
      (error) => {
        if (this.client.connection.socket_id !== socketId) return;
        this.subscriptionPending = false;
        const info = { type: 'AuthError', error: error.message };
        if (error.status !== undefined) info.status = error.status;
        this.emit('pusher:subscription_error', info);
        if (this.subscriptionCancelled) this.client.unsubscribe(this.name);
      },
    );
  }

  /** Sends pusher:unsubscribe and forgets the subscription. */
  unsubscribe() {
    this.subscribed = false;
    this.client.send_event('pusher:unsubscribe', { channel: this.name });
  }

  /** Called when the connection is lost: the server has forgotten us. */
  disconnect() {
    this.subscribed = false;
    this.subscriptionPending = false;
  }

  cancelSubscription() {
    this.subscriptionCancelled = true;
  }

  reinstateSubscription() {
    this.subscriptionCancelled = false;
  }

  /** Routes one server frame addressed to this channel. */
  handleEvent({ event, data, user_id }) {
    if (event === 'pusher_internal:subscription_succeeded') return this.handleSubscriptionSucceeded(data);
    if (event === 'pusher_internal:subscription_count') {
      this.subscriptionCount = data && data.subscription_count;
      return this.emit('pusher:subscription_count', data);
    }
    if (event === 'pusher:subscription_error') this.subscriptionPending = false;
    if (event.startsWith('pusher_internal:')) return undefined;
    return this.emit(event, data, user_id !== undefined ? { user_id } : undefined);
  }

  handleSubscriptionSucceeded(data) {
    this.subscriptionPending = false;
    this.subscribed = true;
    if (this.subscriptionCancelled) this.client.unsubscribe(this.name);
    else this.emit('pusher:subscription_succeeded', data);
  }
}

/** private-*: signed with the app secret by the authorization endpoint. */
export class PrivateChannel extends Channel {
  async authorize(socketId) {
    // Granted by the connection token: the server needs no signature.
    if (this.client.tokenGrant(this.name)) return {};
    const { auth, channel_data } = await this.client.authorizeChannel(socketId, this.name);
    return channel_data === undefined ? { auth } : { auth, channel_data };
  }
}

/** presence-*: private plus the member list. */
export class PresenceChannel extends PrivateChannel {
  constructor(name, client) {
    super(name, client);
    this.members = new Members();
  }

  async authorize(socketId) {
    const grant = this.client.tokenGrant(this.name);
    if (grant) {
      // The token's subject is the member (and its user_info the member's info).
      this.members.setMyID(grant.sub);
      return {};
    }
    const data = await super.authorize(socketId);
    let id;
    if (data.channel_data !== undefined) {
      id = parseMaybeJson(data.channel_data).user_id;
    } else {
      // The server makes the signed-in user the member (§7): wait for a sign-in in flight.
      await this.client.user.signinDone();
      if (this.client.user.user_data) id = this.client.user.user_data.id;
    }
    if (id === undefined || id === null || id === '') {
      throw new AuthError(`Invalid auth response for channel '${this.name}': no user_id in channel_data and not signed in`);
    }
    this.members.setMyID(id);
    return data;
  }

  handleEvent(message) {
    const { event, data } = message;
    if (event === 'pusher_internal:member_added') {
      const { member } = this.members.addMember(data || {});
      return this.emit('pusher:member_added', member);
    }
    if (event === 'pusher_internal:member_removed') {
      const member = this.members.removeMember(data || {});
      return member ? this.emit('pusher:member_removed', member) : undefined;
    }
    return super.handleEvent(message);
  }

  handleSubscriptionSucceeded(data) {
    this.members.onSubscription(data && data.presence);
    super.handleSubscriptionSucceeded(this.members);
  }

  disconnect() {
    this.members.reset();
    super.disconnect();
  }
}

/**
 * private-encrypted-*: application events arrive as {nonce, ciphertext} and are opened with
 * the shared_secret from the auth endpoint, which never goes to the server.
 */
export class EncryptedChannel extends PrivateChannel {
  constructor(name, client) {
    super(name, client);
    this.key = null;
  }

  async authorize(socketId) {
    const [data, crypto] = await Promise.all([
      this.client.authorizeChannel(socketId, this.name),
      loadEncryption(),
    ]);
    this.crypto = crypto;
    const key = typeof data.shared_secret === 'string' ? crypto.decodeKey(data.shared_secret) : null;
    if (!key) throw new AuthError(`No valid shared_secret in the auth response for encrypted channel '${this.name}'`);
    this.key = key;
    return { auth: data.auth };
  }

  trigger() {
    throw new Error('Client events are not supported on encrypted channels');
  }

  handleEvent(message) {
    if (isInternal(message.event)) return super.handleEvent(message);
    return this.decryptAndEmit(message, true);
  }

  /** Opens the box; on failure fetches the key again once (it may have been rotated). */
  decryptAndEmit({ event, data }, mayRefetchKey) {
    const plaintext = this.key && this.crypto.decrypt(this.key, data);
    if (plaintext !== null && plaintext !== undefined) return this.emit(event, parseMaybeJson(plaintext));
    if (!mayRefetchKey) {
      return this.emit('pusher:decryption_error', { event, error: 'Unable to decrypt the event payload' });
    }
    return this.authorize(this.client.connection.socket_id).then(
      () => this.decryptAndEmit({ event, data }, false),
      (error) => this.emit('pusher:decryption_error', { event, error: error.message }),
    );
  }
}

/** Creates the right channel class for a name (prefixes as in PROTOCOL.md §5.1). */
export function createChannel(name, client) {
  if (name.startsWith('private-encrypted-')) return new EncryptedChannel(name, client);
  if (name.startsWith('private-')) return new PrivateChannel(name, client);
  if (name.startsWith('presence-')) return new PresenceChannel(name, client);
  if (name.startsWith('#')) throw new Error(`Cannot subscribe to internal channel '${name}'`);
  return new Channel(name, client);
}

const hasOwn = (object, key) => Object.prototype.hasOwnProperty.call(object, key);

/**
 * The channel registry, shaped like pusher-js's: `channels[name]` is the channel object (Laravel
 * Echo's whisper() looks channels up there), `find(name)` and `all()` read it.
 */
export class Channels {
  constructor() {
    /** @type {Record<string, Channel>} */
    this.channels = {};
  }

  /** Returns the channel for a name, creating it first when needed. */
  add(name, client) {
    if (hasOwn(this.channels, name)) return this.channels[name];
    const channel = createChannel(name, client);
    // defineProperty: a channel named `__proto__` must become an entry, not a prototype.
    Object.defineProperty(this.channels, name, { value: channel, enumerable: true, configurable: true, writable: true });
    return channel;
  }

  /** Returns the channel object for a name, or undefined (never an inherited property). */
  find(name) {
    return hasOwn(this.channels, name) ? this.channels[name] : undefined;
  }

  /** Returns every channel object, in subscription order. */
  all() {
    return Object.values(this.channels);
  }

  /** Forgets a channel; returns it, or undefined when there was none. */
  remove(name) {
    const channel = this.find(name);
    if (channel) delete this.channels[name];
    return channel;
  }
}
