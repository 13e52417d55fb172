// Public entry point of the Realtime JavaScript SDK.
export { Realtime } from './realtime.js';
export { AuthError } from './auth.js';
export { Channel, PrivateChannel, PresenceChannel, EncryptedChannel, Channels } from './channels.js';
export { Members } from './members.js';
export { Dispatcher } from './events.js';
export { Connection } from './connection.js';
export { User, Watchlist } from './user.js';
export { backoffDelay } from './backoff.js';
export { VERSION } from './protocol.js';
export { Realtime as default } from './realtime.js';
