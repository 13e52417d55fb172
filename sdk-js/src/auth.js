// Channel authorization and user authentication requests, wire-compatible with pusher-js:
// POST application/x-www-form-urlencoded to an endpoint that answers JSON, or a custom handler.

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

/** Wraps a pusher-js style customHandler(params, callback(err, data)) into a promise. */
function callHandler(handler, params) {
  return new Promise((resolve, reject) => {
    handler(params, (err, data) => {
      if (err) reject(err instanceof AuthError ? err : new AuthError(String((err && err.message) || err)));
      else if (!data || typeof data.auth !== 'string') reject(new AuthError('Authorization data must contain an `auth` string'));
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
  return async (socketId, channelName) => {
    if (config.customHandler) return callHandler(config.customHandler, { socketId, channelName });
    const { headers, params } = requestExtras(config);
    const data = await postForm(config.endpoint, { socket_id: socketId, channel_name: channelName, ...params }, {
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
  return async (socketId) => {
    if (config.customHandler) return callHandler(config.customHandler, { socketId });
    const { headers, params } = requestExtras(config);
    const data = await postForm(config.endpoint, { socket_id: socketId, ...params }, {
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
