// Entry of the CommonJS and <script> builds. Like pusher-js's Pusher, what `require()` returns
// and what window.Realtime holds is the client class itself, so it can stand in for
// window.Pusher; the SDK's other exports hang off it (Realtime.AuthError, Realtime.Realtime...).
import * as sdk from './index.js';

const { Realtime } = sdk;
for (const name of Object.keys(sdk)) Realtime[name] = sdk[name];

export default Realtime;
