// Channel authorization and user authentication requests, wire-compatible with pusher-js:
// POST application/x-www-form-urlencoded to an endpoint that answers JSON (transport 'ajax'),
// GET through a <script> that calls back (transport 'jsonp'), or a custom handler.

/** An authorization failure; `status` is the HTTP status when the endpoint answered. */
export class AuthError extends Error {
  constructor(message, status) {
    super(message);
    this.name = 'AuthError';
    if (status !== undefined) this.status = status;
  }
}

/**
 * POSTs `params` form-encoded to `endpoint` and resolves with the parsed JSON body.
 * Rejects with AuthError on network errors, a non-200 status, a timeout or a non-JSON body.
 */
async function postForm(endpoint, params, { headers = {}, timeout, fetch: fetchFn, what }) {
  const body = new URLSearchParams(params).toString();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  let response;
  try {
    response = await fetchFn(endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
      body,
      signal: controller.signal,
    });
  } catch (err) {
    throw new AuthError(`Could not reach the ${what} endpoint ${endpoint}: ${err && err.message}`);
  } finally {
    clearTimeout(timer);
  }
  if (response.status !== 200) {
    throw new AuthError(
      `Unable to retrieve auth string from ${what} endpoint - received status: ${response.status} from ${endpoint}.`,
      response.status,
    );
  }
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new AuthError(`JSON returned from ${what} endpoint was invalid, yet status code was 200. Data was: ${text}`, 200);
  }
}

let jsonpCallbacks = 0;

/**
 * GETs endpoint?callback=NAME&params through a <script> whose answer calls NAME(json), as
 * pusher-js's 'jsonp' auth transport does. Headers cannot be sent this way. Browsers only.
 */
function getJsonp(endpoint, params, { timeout, what }) {
  const doc = globalThis.document;
  if (!doc) return Promise.reject(new AuthError(`The jsonp transport for the ${what} endpoint needs a browser document`));
  return new Promise((resolve, reject) => {
    const name = `__realtimeAuth${++jsonpCallbacks}`;
    const script = doc.createElement('script');
    const finish = (settle, value) => {
      clearTimeout(timer);
      delete globalThis[name];
      script.remove();
      settle(value);
    };
    const timer = setTimeout(() => finish(reject, new AuthError(`The ${what} endpoint ${endpoint} did not call back in time`)), timeout);
    globalThis[name] = (data) => finish(resolve, data);
    script.onerror = () => finish(reject, new AuthError(`Could not reach the ${what} endpoint ${endpoint}`));
    const query = new URLSearchParams({ callback: name, ...params });
    script.src = `${endpoint}${endpoint.includes('?') ? '&' : '?'}${query}`;
    doc.head.appendChild(script);
  });
}

const TRANSPORTS = { ajax: postForm, jsonp: getJsonp };

/** Throws, as pusher-js does when the client is created, for an auth transport it does not know. */
function checkTransport(config) {
  if (!config.customHandler && !Object.prototype.hasOwnProperty.call(TRANSPORTS, config.transport)) {
    throw new TypeError(`'${config.transport}' is not a recognized auth transport`);
  }
}

/**
 * Wraps a pusher-js style customHandler(params, callback(err, data)) into a promise. A truthy
 * non-Error `err` with an Error as `data` is the `callback(true, error)` of Echo's docs.
 */
function callHandler(handler, params) {
  return new Promise((resolve, reject) => {
    handler(params, (err, data) => {
      if (err) {
        if (err instanceof AuthError) return reject(err);
        const cause = err instanceof Error ? err : data instanceof Error ? data : null;
        reject(new AuthError(cause ? cause.message : String(err), cause ? cause.status : undefined));
      } else if (!data || typeof data.auth !== 'string') reject(new AuthError('Authorization data must contain an `auth` string'));
      else resolve(data);
    });
  });
}

/** Merges static headers/params with the optional per-request providers. */
function requestExtras(config) {
  return {
    headers: { ...(config.headers || {}), ...(config.headersProvider ? config.headersProvider() : {}) },
    params: { ...(config.params || {}), ...(config.paramsProvider ? config.paramsProvider() : {}) },
  };
}

/**
 * Returns an async (socketId, channelName) → {auth, channel_data?, shared_secret?} function
 * for the `channelAuthorization` options.
 */
export function channelAuthorizer(config, common) {
  checkTransport(config);
  return async (socketId, channelName) => {
    if (config.customHandler) return callHandler(config.customHandler, { socketId, channelName });
    const { headers, params } = requestExtras(config);
    const request = TRANSPORTS[config.transport];
    const data = await request(config.endpoint, { socket_id: socketId, channel_name: channelName, ...params }, {
      ...common,
      headers,
      what: 'channel-authorization',
    });
    if (!data || typeof data.auth !== 'string') throw new AuthError('Channel authorization response has no `auth` string', 200);
    return data;
  };
}

/** Returns an async (socketId) → {auth, user_data} function for `userAuthentication`. */
export function userAuthenticator(config, common) {
  checkTransport(config);
  return async (socketId) => {
    if (config.customHandler) return callHandler(config.customHandler, { socketId });
    const { headers, params } = requestExtras(config);
    const request = TRANSPORTS[config.transport];
    const data = await request(config.endpoint, { socket_id: socketId, ...params }, {
      ...common,
      headers,
      what: 'user-authentication',
    });
    if (!data || typeof data.auth !== 'string' || typeof data.user_data !== 'string') {
      throw new AuthError('User authentication response needs `auth` and `user_data` strings', 200);
    }
    return data;
  };
}

/**
 * Adapts the deprecated pusher-js option `authorizer(channel, options) → {authorize(socketId,
 * callback)}` to a customHandler; `findChannel` maps a channel name to its channel object.
 */
export function legacyAuthorizer(authorizer, config, findChannel) {
  const options = {
    authTransport: config.transport,
    authEndpoint: config.endpoint,
    auth: { params: config.params, headers: config.headers },
  };
  return ({ socketId, channelName }, callback) => authorizer(findChannel(channelName), options).authorize(socketId, callback);
}
