// User sign-in (PROTOCOL.md §10): authenticate the socket as a user, receive server-to-user
// events and watchlist online/offline events. Signs in again after every reconnect.
import { Dispatcher } from './events.js';
import { Channel } from './channels.js';
import { parseMaybeJson } from './protocol.js';

/** Emits `online` / `offline` with {name, user_ids} for the users on our watchlist. */
export class Watchlist extends Dispatcher {
  handleEvent(data) {
    for (const entry of (data && data.events) || []) this.emit(entry.name, entry);
  }
}

/**
 * `realtime.user`: bind() receives events sent with sendToUser(); `pusher:signin_success`
 * and `pusher:signin_error` report the outcome of signin().
 */
export class User extends Dispatcher {
  constructor(client) {
    super();
    this.client = client;
    /** @type {{id: string, [k: string]: any}|null} */
    this.user_data = null;
    this.watchlist = new Watchlist();
    this.serverToUserChannel = null;
    this._signinRequested = false;
    this._pending = false;
    this._signinDone = null;
    this._resolveSignin = null;
  }

  /** Asks to sign in now (if connected) and after every reconnect. */
  signin() {
    this._signinRequested = true;
    this._expectSignin();
    this._signin();
  }

  /**
   * Resolves once a requested sign-in is over, whether it succeeded or failed (at once when
   * none is pending). Presence channels authorized without channel_data wait for it (§7).
   */
  signinDone() {
    return this._signinDone || Promise.resolve();
  }

  _expectSignin() {
    if (!this._signinRequested || this.user_data || this._signinDone) return;
    this._signinDone = new Promise((resolve) => (this._resolveSignin = resolve));
  }

  _signinFinished() {
    if (this._resolveSignin) this._resolveSignin();
    this._signinDone = this._resolveSignin = null;
  }

  _signin() {
    const connection = this.client.connection;
    if (!this._signinRequested || this._pending || this.user_data || connection.state !== 'connected') return;
    this._pending = true;
    if (connection.token) {
      // A connection token signs in by itself: the server checks it again, no endpoint needed.
      connection.sendEvent('pusher:signin', { token: connection.token });
      return;
    }
    const socketId = connection.socket_id;
    this.client.authenticateUser(socketId).then(
      ({ auth, user_data }) => {
        if (connection.socket_id !== socketId) return;
        connection.sendEvent('pusher:signin', { auth, user_data });
      },
      (error) => {
        if (connection.socket_id !== socketId) return;
        this._pending = false;
        const info = { type: 'AuthError', error: error.message };
        if (error.status !== undefined) info.status = error.status;
        this._signinFinished();
        this.emit('pusher:signin_error', info);
      },
    );
  }

  /** Handles connection-level frames that concern the user; returns true when consumed. */
  handleMessage({ event, data }) {
    if (event === 'pusher:signin_success') {
      this._onSigninSuccess(data);
      return true;
    }
    if (event === 'pusher_internal:watchlist_events') {
      this.watchlist.handleEvent(data);
      return true;
    }
    return false;
  }

  _onSigninSuccess(data) {
    this._pending = false;
    const userData = parseMaybeJson(data && data.user_data);
    if (!userData || typeof userData.id !== 'string' || userData.id === '') {
      this._signinFinished();
      this.emit('pusher:signin_error', { type: 'AuthError', error: 'user_data has no string `id`' });
      return;
    }
    this.user_data = userData;
    const channel = new Channel(`#server-to-user-${userData.id}`, this.client);
    channel.bind_global((event, payload) => {
      if (!event.startsWith('pusher:') && !event.startsWith('pusher_internal:')) this.emit(event, payload);
    });
    this.serverToUserChannel = channel;
    channel.subscribe();
    this._signinFinished();
    this.emit('pusher:signin_success', userData);
  }

  /** The connection is gone: the new socket must sign in again. */
  onDisconnected() {
    if (this.serverToUserChannel) this.serverToUserChannel.disconnect();
    this.serverToUserChannel = null;
    this.user_data = null;
    this._pending = false;
    // Whoever waited for this socket's sign-in stops waiting; the next socket signs in anew.
    this._signinFinished();
    this._expectSignin();
  }
}
