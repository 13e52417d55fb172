// Event dispatcher shared by the client, connections, channels, users and watchlists.

/** Reports a listener's exception like an uncaught error, without unwinding our stack. */
function report(err) {
  if (typeof globalThis.reportError === 'function') globalThis.reportError(err);
  else
    queueMicrotask(() => {
      throw err;
    });
}

/** Calls a listener so that one throwing listener cannot break message processing. */
function callSafely(fn, context, args) {
  try {
    fn.apply(context, args);
  } catch (err) {
    report(err);
  }
}

/** pusher-js compatible bind/unbind/bind_global/emit. */
export class Dispatcher {
  /** @param {(event: string, data: any) => void} [failThrough] called when nobody listens */
  constructor(failThrough) {
    this._listeners = new Map();
    this._global = [];
    this._failThrough = failThrough;
  }

  /** Adds a listener for one event name; returns this for chaining. */
  bind(event, callback, context) {
    if (!this._listeners.has(event)) this._listeners.set(event, []);
    this._listeners.get(event).push({ fn: callback, context });
    return this;
  }

  /** Adds a listener called as (eventName, data) for every event. */
  bind_global(callback) {
    this._global.push(callback);
    return this;
  }

  /**
   * Removes listeners matching every given argument; with no arguments removes all
   * per-event listeners (global ones stay, as in pusher-js).
   */
  unbind(event, callback, context) {
    for (const name of event ? [event] : [...this._listeners.keys()]) {
      const kept = (this._listeners.get(name) || []).filter(
        (l) => (callback && l.fn !== callback) || (context && l.context !== context),
      );
      if (kept.length) this._listeners.set(name, kept);
      else this._listeners.delete(name);
    }
    return this;
  }

  /** Removes one global listener, or all of them without an argument. */
  unbind_global(callback) {
    this._global = callback ? this._global.filter((fn) => fn !== callback) : [];
    return this;
  }

  /** Removes every listener, per-event and global. */
  unbind_all() {
    this._listeners.clear();
    this._global = [];
    return this;
  }

  /** Delivers an event: global listeners first, then the event's own listeners. */
  emit(event, data, metadata) {
    for (const fn of [...this._global]) callSafely(fn, undefined, [event, data]);
    const listeners = this._listeners.get(event);
    if (listeners && listeners.length) {
      const args = metadata ? [data, metadata] : [data];
      for (const l of [...listeners]) callSafely(l.fn, l.context || globalThis, args);
    } else if (this._failThrough) {
      this._failThrough(event, data);
    }
    return this;
  }
}
