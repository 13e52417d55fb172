// The connection state machine: one WebSocket at a time, handshake, liveness checks
// (pusher:ping/pong), reconnection with backoff and the reaction to every close code.
import { Dispatcher } from './events.js';
import { backoffDelay } from './backoff.js';
import { closeAction, decodeMessage, encodeMessage, socketUrl } from './protocol.js';

const OPEN = 1;

/**
 * States: initialized → connecting → connected; on loss back to connecting (or unavailable
 * after `unavailableTimeout` without success); failed when the server refuses us (4000 on a
 * TLS socket, 4001–4099, 4300–4399) or no WebSocket exists; disconnected after disconnect().
 * Events: state_change {previous,current}, each state name, message, error, connecting_in.
 */
export class Connection extends Dispatcher {
  /** @param {string} key app key @param {object} options resolved client options */
  constructor(key, options) {
    super();
    this.key = key;
    this.options = options;
    this.state = 'initialized';
    /** @type {string|null} */
    this.socket_id = null;
    this._socket = null;
    this._attempts = 0;
    this._timers = {};
    this._lastErrorCode = null;
    this._onOnline = () => this._networkOnline();
    this._onOffline = () => this._networkOffline();
  }

  /** Starts connecting unless a socket or a scheduled retry already exists. */
  connect() {
    if (this._socket || this._timers.retry) return;
    if (!this.options.WebSocket) {
      this._fail({ type: 'WebSocketError', error: 'No WebSocket implementation: pass options.WebSocket' });
      return;
    }
    this._watchNetwork(true);
    this._attempts = 0;
    this._open();
  }

  /** Closes the socket and stops reconnecting; state becomes `disconnected`. */
  disconnect() {
    this._stop();
    this._setState('disconnected');
  }

  /** Sends a raw frame; returns false when not connected (the frame is dropped). */
  send(text) {
    if (this.state !== 'connected' || !this._socket || this._socket.readyState !== OPEN) return false;
    try {
      this._socket.send(text);
      return true;
    } catch {
      return false;
    }
  }

  /** Sends {event, data, channel?}; returns false when not connected. */
  sendEvent(event, data, channel) {
    return this.send(encodeMessage(event, data, channel));
  }

  // ---------------------------------------------------------------- socket lifecycle

  _open() {
    this._startUnavailableTimer();
    if (this.state !== 'unavailable') this._setState('connecting');
    const token = this.options.token;
    if (typeof token !== 'function') {
      this._openSocket(token);
      return;
    }
    // A token function is asked again before every attempt: tokens are short-lived.
    const attempt = (this._openSeq = (this._openSeq || 0) + 1);
    Promise.resolve()
      .then(() => token())
      .then(
        (value) => {
          if (attempt !== this._openSeq || this._socket || this.state === 'disconnected' || this.state === 'failed') return;
          this._openSocket(value);
        },
        (err) => {
          if (attempt !== this._openSeq) return;
          this.emit('error', { type: 'TokenError', error: String((err && err.message) || err) });
          this._scheduleRetry('retry');
        },
      );
  }

  _openSocket(token) {
    this.token = typeof token === 'string' && token ? token : null;
    const url = socketUrl(this.key, this.options, this.token);
    let ws;
    try {
      ws = new this.options.WebSocket(url);
    } catch (err) {
      this._fail({ type: 'WebSocketError', error: String((err && err.message) || err) });
      return;
    }
    this._socket = ws;
    this._lastErrorCode = null;
    // Without an error listener the `ws` package throws; the close event that follows
    // every error is what drives the state machine.
    ws.onerror = () => {};
    ws.onmessage = (e) => this._socket === ws && this._onMessage(e.data);
    ws.onclose = (e) => this._socket === ws && this._onClose(e.code, e.reason);
    this._timers.handshake = setTimeout(() => {
      this._abandonSocket();
      this._scheduleRetry('retry');
    }, this.options.connectTimeout);
  }

  /** Detaches and closes the current socket without waiting for its close event. */
  _abandonSocket() {
    for (const name of ['handshake', 'activity', 'pong']) this._clearTimer(name);
    const ws = this._socket;
    this._socket = null;
    this.socket_id = null;
    if (!ws) return;
    ws.onmessage = ws.onclose = ws.onopen = null;
    try {
      if (ws.readyState <= OPEN) ws.close();
    } catch {
      /* already closing */
    }
  }

  _stop() {
    this._openSeq = (this._openSeq || 0) + 1; /* a token still being fetched is not used */
    for (const name of Object.keys(this._timers)) this._clearTimer(name);
    this._watchNetwork(false);
    this._abandonSocket();
  }

  _fail(error) {
    this._stop();
    if (error) this.emit('error', error);
    this._setState('failed');
  }

  // ---------------------------------------------------------------- incoming frames

  _onMessage(text) {
    if (typeof text !== 'string') return; // binary frames are not part of the protocol
    this._resetActivityTimer();
    const message = decodeMessage(text);
    if (!message) return;
    switch (message.event) {
      case 'pusher:connection_established':
        this._onEstablished(message.data || {});
        break;
      case 'pusher:error': {
        const data = message.data && typeof message.data === 'object' ? message.data : { message: message.data };
        // Remember fatal codes only: 43xx (rate limit, watchlist size) never close the socket.
        if (typeof data.code === 'number' && data.code >= 4000 && data.code < 4300) this._lastErrorCode = data.code;
        this.emit('error', { type: 'PusherError', data });
        break;
      }
      case 'pusher:ping':
        this.sendEvent('pusher:pong', {});
        break;
    }
    if (this._socket) this.emit('message', message);
  }

  _onEstablished({ socket_id, activity_timeout }) {
    this._clearTimer('handshake');
    this._clearTimer('unavailable');
    this._attempts = 0;
    this.socket_id = String(socket_id);
    const serverMs = Number(activity_timeout) > 0 ? Number(activity_timeout) * 1000 : Infinity;
    this._activityMs = Math.min(this.options.activityTimeout, serverMs);
    this._setState('connected', { socket_id: this.socket_id });
    this._resetActivityTimer();
  }

  _onClose(code, reason) {
    // A fatal pusher:error followed by an abnormal close (1006) still means what the error said.
    if (this._lastErrorCode && !(code >= 4000)) code = this._lastErrorCode;
    const reported = this._lastErrorCode === code;
    this._abandonSocket();
    let action = closeAction(code);
    // The server refused the token (expired, revoked key): a token function gives a fresh one.
    if (code === 4009 && /^Token /.test(reason || '') && typeof this.options.token === 'function') action = 'retry';
    // 4000 asks for TLS; on a TLS socket retrying could only repeat the same refusal.
    if (action === 'tls' && this.options.useTLS) action = 'refused';
    if (action === 'refused') {
      // As pusher-js: refused codes end in `disconnected` (no retry); `failed` is kept for a
      // client that cannot connect at all (no WebSocket implementation).
      this._stop();
      if (!reported) this.emit('error', { type: 'PusherError', data: { code, message: reason || 'Connection refused' } });
      this._setState('disconnected');
      return;
    }
    if (action === 'tls') this.options.useTLS = true;
    this._scheduleRetry(action);
  }

  // ---------------------------------------------------------------- timers

  /** Schedules the next attempt; `action` is a closeAction() result. */
  _scheduleRetry(action) {
    const { reconnectDelay, maxReconnectDelay } = this.options;
    let delay = backoffDelay(this._attempts, reconnectDelay, maxReconnectDelay);
    if (action === 'tls' || (action === 'now' && this._attempts === 0)) delay = 0;
    if (action === 'backoff') delay = Math.max(1000, delay);
    this._attempts++;
    this._startUnavailableTimer();
    if (this.state !== 'unavailable') this._setState('connecting');
    if (delay > 0) this.emit('connecting_in', Math.round(delay / 1000));
    this._timers.retry = setTimeout(() => {
      this._timers.retry = null;
      this._open();
    }, delay);
  }

  _startUnavailableTimer() {
    if (this._timers.unavailable || this.state === 'unavailable') return;
    this._timers.unavailable = setTimeout(() => {
      this._timers.unavailable = null;
      this._setState('unavailable');
    }, this.options.unavailableTimeout);
  }

  /** Any frame from the server proves liveness: restart the idle timer, cancel a pending pong wait. */
  _resetActivityTimer() {
    this._clearTimer('pong');
    this._clearTimer('activity');
    if (this.state !== 'connected') return;
    this._timers.activity = setTimeout(() => this._checkActivity(), this._activityMs);
  }

  /** Sends pusher:ping and treats the socket as dead if nothing arrives within pongTimeout. */
  _checkActivity() {
    this._clearTimer('activity');
    this.sendEvent('pusher:ping', {});
    this._clearTimer('pong');
    this._timers.pong = setTimeout(() => {
      this._abandonSocket();
      this._scheduleRetry('now');
    }, this.options.pongTimeout);
  }

  _clearTimer(name) {
    clearTimeout(this._timers[name]);
    this._timers[name] = null;
  }

  // ---------------------------------------------------------------- browser network events

  _watchNetwork(on) {
    const target = this.options.networkEvents;
    if (!target || on === !!this._watching) return;
    this._watching = on;
    const method = on ? 'addEventListener' : 'removeEventListener';
    target[method]('online', this._onOnline);
    target[method]('offline', this._onOffline);
  }

  /** Back online: stop waiting out the backoff and try at once. */
  _networkOnline() {
    if (!this._timers.retry) return;
    this._clearTimer('retry');
    this._open();
  }

  /** Gone offline: the socket may be dead without knowing it, so check now rather than in 2 min. */
  _networkOffline() {
    if (this.state === 'connected') this._checkActivity();
  }

  _setState(current, data) {
    const previous = this.state;
    if (previous === current) return;
    this.state = current;
    this.emit('state_change', { previous, current });
    this.emit(current, data);
  }
}
