// Type declarations for the Realtime JavaScript SDK (hand-written; the runtime is plain ESM).

export type ConnectionState =
  | 'initialized'
  | 'connecting'
  | 'connected'
  | 'unavailable'
  | 'failed'
  | 'disconnected';

export type EventCallback = (data: any, metadata?: { user_id?: string }) => void;
export type GlobalCallback = (eventName: string, data: any) => void;

export interface ChannelAuthorizationData {
  auth: string;
  channel_data?: string;
  shared_secret?: string;
}

export interface UserAuthenticationData {
  auth: string;
  user_data: string;
}

export type AuthCallback<T> = (error: Error | null, data: T | null) => void;

/** How auth requests travel: POST form-encoded (`ajax`, default) or GET via <script> (`jsonp`). */
export type AuthTransport = 'ajax' | 'jsonp';

/** pusher-js's transport names; accepted for compatibility, sdk-js always uses WebSocket. */
export type Transport = 'ws' | 'wss' | 'xhr_streaming' | 'xhr_polling' | 'sockjs';

export interface ChannelAuthorizationOptions {
  /** URL receiving POST socket_id=..&channel_name=.. (default /pusher/auth). */
  endpoint?: string;
  transport?: AuthTransport;
  headers?: Record<string, string>;
  params?: Record<string, string>;
  headersProvider?: () => Record<string, string>;
  paramsProvider?: () => Record<string, string>;
  customHandler?: (
    params: { socketId: string; channelName: string },
    callback: AuthCallback<ChannelAuthorizationData>,
  ) => void;
}

export interface UserAuthenticationOptions {
  /** URL receiving POST socket_id=.. (default /pusher/user-auth). */
  endpoint?: string;
  transport?: AuthTransport;
  headers?: Record<string, string>;
  params?: Record<string, string>;
  headersProvider?: () => Record<string, string>;
  paramsProvider?: () => Record<string, string>;
  customHandler?: (params: { socketId: string }, callback: AuthCallback<UserAuthenticationData>) => void;
}

/** What the deprecated `authorizer` option receives besides the channel. */
export interface DeprecatedAuthorizerOptions {
  authTransport: AuthTransport;
  authEndpoint: string;
  auth?: { params?: any; headers?: any };
}

/** What the deprecated `authorizer` option returns. */
export interface DeprecatedChannelAuthorizer {
  /** callback(null | false, data) on success; callback(error) or callback(true, error) on failure. */
  authorize(socketId: string, callback: (error: Error | boolean | null, data: any) => void): void;
}

export interface RealtimeOptions {
  /** Server host (default: the page's hostname, else localhost). */
  wsHost?: string;
  /** Port for ws:// (default 80). */
  wsPort?: number;
  /** Port for wss:// (default 443). */
  wssPort?: number;
  /** Path prefix inserted before /app/{key}. */
  wsPath?: string;
  /** wss:// unless this is false (as pusher-js); always wss:// on an https page. */
  forceTLS?: boolean;
  /**
   * A connection token (JWT) minted by your backend (rtadmin token, sdk-php
   * issueConnectionToken): the connection is signed in as its `sub`, and the private/presence
   * channels it grants need no authorization request. A function is called before every
   * connection attempt (and again when the server refuses an expired token).
   */
  token?: string | (() => string | Promise<string>);
  /** pusher-js style; ignored (self-hosted servers have no clusters). */
  cluster?: string;
  /** Channel authorization; when given, the deprecated options below are ignored. */
  channelAuthorization?: ChannelAuthorizationOptions;
  /** Deprecated (pusher-js): channelAuthorization.endpoint. */
  authEndpoint?: string;
  /** Deprecated (pusher-js): channelAuthorization.transport. */
  authTransport?: AuthTransport;
  /** Deprecated (pusher-js): channelAuthorization.headers / params. */
  auth?: { headers?: any; params?: any };
  /**
   * Deprecated (pusher-js, Echo's docs): builds the authorizer of each channel. Parameters are
   * checked bivariantly so that pusher-js's own ChannelAuthorizerGenerator type fits too.
   */
  authorizer?: {
    bivariant(channel: Channel, options: DeprecatedAuthorizerOptions): DeprecatedChannelAuthorizer;
  }['bivariant'];
  userAuthentication?: UserAuthenticationOptions;
  /** pusher-js only; accepted and ignored (sdk-js speaks WebSocket only). */
  enabledTransports?: Transport[];
  /** pusher-js only; accepted and ignored. */
  disabledTransports?: Transport[];
  /** pusher-js only; accepted and ignored (sdk-js sends no stats). */
  enableStats?: boolean;
  /** pusher-js only (deprecated there); accepted and ignored. */
  disableStats?: boolean;
  /** pusher-js only (HTTP fallback transports); accepted and ignored. */
  httpHost?: string;
  httpPath?: string;
  httpPort?: number;
  httpsPort?: number;
  /** pusher-js only; accepted and ignored. */
  ignoreNullOrigin?: boolean;
  statsHost?: string;
  timelineParams?: any;
  /** pusher-js's NaCl implementation; sdk-js loads its own for encrypted channels. */
  nacl?: any;
  /** Idle ms before the client pings (default 120000; the server's value wins if lower). */
  activityTimeout?: number;
  /** Ms to wait for any frame after a ping before reconnecting (default 30000). */
  pongTimeout?: number;
  /** Ms of failed connecting before the state becomes `unavailable` (default 10000). */
  unavailableTimeout?: number;
  /** Ms allowed for one connection attempt's handshake (default 10000). */
  connectTimeout?: number;
  /** First reconnection backoff step in ms (default 1000). */
  reconnectDelay?: number;
  /** Backoff ceiling in ms (default 30000). */
  maxReconnectDelay?: number;
  /** Ms allowed for an auth endpoint request (default 10000). */
  authTimeout?: number;
  /** WebSocket constructor; required in Node < 22 (e.g. `ws`). */
  WebSocket?: any;
  /** fetch implementation used for auth requests (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Source of `online`/`offline` events (default: window in browsers; null disables). */
  networkEvents?: EventTarget | null;
}

export declare class Dispatcher {
  bind(eventName: string, callback: EventCallback, context?: any): this;
  bind_global(callback: GlobalCallback): this;
  unbind(eventName?: string, callback?: EventCallback, context?: any): this;
  unbind_global(callback?: GlobalCallback): this;
  unbind_all(): this;
  emit(eventName: string, data?: any, metadata?: { user_id?: string }): Dispatcher;
}

export interface StateChange {
  previous: ConnectionState;
  current: ConnectionState;
}

export declare class Connection extends Dispatcher {
  state: ConnectionState;
  socket_id: string | null;
  connect(): void;
  disconnect(): void;
  send(text: string): boolean;
  sendEvent(event: string, data: any, channel?: string): boolean;
}

export declare class Channel extends Dispatcher {
  readonly name: string;
  subscribed: boolean;
  subscriptionPending: boolean;
  subscriptionCancelled: boolean;
  /** Last value of pusher:subscription_count, when the app sends it. */
  subscriptionCount: number | null;
  /** Sends a client event (name must start with `client-`); false when not connected. */
  trigger(eventName: string, data?: any): boolean;
}

export declare class PrivateChannel extends Channel {}

export interface Member {
  id: string;
  info: any;
}

export declare class Members {
  count: number;
  myID: string | null;
  me: Member | null;
  get(id: string): Member | null;
  each(callback: (member: Member) => void): void;
}

export declare class PresenceChannel extends PrivateChannel {
  members: Members;
}

export declare class EncryptedChannel extends PrivateChannel {
  /** Always throws: client events are not supported on encrypted channels. */
  trigger(eventName: string, data?: any): never;
}

export declare class Watchlist extends Dispatcher {}

export declare class User extends Dispatcher {
  user_data: ({ id: string } & Record<string, any>) | null;
  watchlist: Watchlist;
  signin(): void;
  /** Resolves once a requested sign-in is over (succeeded or failed); at once when none is pending. */
  signinDone(): Promise<void>;
}

/** pusher-js's channel registry (`client.channels`). */
export declare class Channels {
  /** Channel objects by name. */
  channels: Record<string, Channel>;
  /** The channel for a name, created (not subscribed) when needed. */
  add(name: string, client: Realtime): Channel;
  find(name: string): Channel | undefined;
  all(): Channel[];
  remove(name: string): Channel | undefined;
}

export declare class AuthError extends Error {
  status?: number;
}

export declare class Realtime {
  constructor(key: string, options?: RealtimeOptions);
  readonly key: string;
  connection: Connection;
  user: User;
  /** The channel registry, as in pusher-js (Laravel Echo's whisper() reads it). */
  channels: Channels;
  connect(): void;
  disconnect(): void;
  subscribe(channelName: `presence-${string}`): PresenceChannel;
  subscribe(channelName: `private-encrypted-${string}`): EncryptedChannel;
  subscribe(channelName: `private-${string}`): PrivateChannel;
  subscribe(channelName: string): Channel;
  unsubscribe(channelName: string): void;
  channel(channelName: string): Channel | undefined;
  allChannels(): Channel[];
  signin(): void;
  send_event(eventName: string, data: any, channel?: string): boolean;
  bind(eventName: string, callback: EventCallback, context?: any): this;
  unbind(eventName?: string, callback?: EventCallback, context?: any): this;
  bind_global(callback: GlobalCallback): this;
  unbind_global(callback?: GlobalCallback): this;
  unbind_all(): this;
}

/** Returns the backoff delay in ms for reconnection attempt `attempt` (0-based). */
export declare function backoffDelay(attempt: number, baseDelay?: number, maxDelay?: number, random?: () => number): number;

export declare const VERSION: string;
export default Realtime;
