// Helpers for iplimit.test.mjs: requests and WebSockets from a chosen loopback source address.
import http from 'node:http';
import { RawClient, restClient, wsUrl } from './helpers.mjs';
import { encodeQuery, signParams } from './rest_helpers.mjs';

export { RawClient, restClient, wsUrl };

/** A signed GET of /apps/{id}{path} sent from localAddress; resolves to {status, json}. */
export function signedRequestFrom(server, app, localAddress, path, headers = {}) {
  const full = `/apps/${app.id}${path}`;
  const params = signParams('GET', full, { key: app.key, secret: app.secret });
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: server.host, port: server.port, method: 'GET', path: `${full}?${encodeQuery(params)}`,
      headers, localAddress, agent: false,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, json });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
