// Type declarations of wsgate-client (hand-written; the package is plain
// JavaScript with no build step).

/** A position in a channel's history: the last offset seen, in its epoch. */
export interface Since {
  offset: number
  epoch: string
}

/**
 * The constructor used to open sockets: the browser's WebSocket, or e.g. the
 * "ws" package's. The client uses readyState, send, close and the
 * onmessage, onclose and onerror properties.
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => any

/** A command the client sends: the JSON protocol's object (docs/protocol.md). */
export interface Command {
  type: 'subscribe' | 'unsubscribe' | 'publish' | 'history' | 'refresh' | 'send' | 'pong'
  /** Numbered from 1 by the client; absent on pong. */
  id?: number
  channel?: string
  since?: Since
  /** subscribe: ask for the channel's join and leave frames (present only when true). */
  presence?: true
  limit?: number
  data?: unknown
  idempotency_key?: string
  token?: string
}

/**
 * A server frame as the JSON protocol's object: {type: 'connected' | 'ack' |
 * 'error' | 'message' | 'history' | 'unsubscribed' | 'ping' | 'push' |
 * 'join' | 'leave', …}. Anything else (an unknown type, {}) is ignored.
 */
export interface Frame {
  type?: string
  [field: string]: unknown
}

/**
 * How commands and frames travel: JSON text (jsonCodec, the default) or
 * Protobuf (protobuf, from 'wsgate-client/proto').
 */
export interface Codec {
  /** Offered in Sec-WebSocket-Protocol (the JSON codec only with a token, as before). */
  subprotocol: string
  /** Set on each socket when present ('arraybuffer' for Protobuf). */
  binaryType?: 'arraybuffer' | 'blob'
  /** The frame to send for a command; may throw (reported as 'error'). */
  encode(command: Command): string | Uint8Array
  /**
   * The frame object of a received message's data (event.data), or
   * undefined to ignore it. A throw is reported as 'error' with code
   * 'bad_frame' and the frame is dropped; the connection goes on.
   */
  decode(data: unknown): Frame | undefined
}

/** The JSON protocol (subprotocol wsgate.v1): the default codec. */
export declare const jsonCodec: Codec

export interface ClientOptions {
  /**
   * The protocol's encoding: jsonCodec (default) or, imported from
   * 'wsgate-client/proto', protobuf (subprotocol wsgate.v1.proto, binary
   * frames; message and history data arrive as Uint8Array).
   */
  codec?: Codec
  /**
   * Returns the JWT to present (or null/undefined/'' to connect anonymously).
   * Called before every connection attempt and before each refresh.
   */
  getToken?: () => string | null | undefined | Promise<string | null | undefined>
  /** Where the token goes: 'protocol' (Sec-WebSocket-Protocol: wsgate.v1, wsgate.token.JWT, or wsgate.v1.proto, …; default) or 'query' (?token=JWT). */
  tokenIn?: 'protocol' | 'query'
  /** Refresh the token this long before its exp (default 30000 ms). */
  refreshBeforeMs?: number
  /** WebSocket constructor (default globalThis.WebSocket; Node 18–21 have none: pass the "ws" package's). */
  WebSocket?: WebSocketConstructor
  /** Base of the full-jitter exponential backoff (default 250 ms). */
  minBackoffMs?: number
  /** Cap of the backoff (default 10000 ms). */
  maxBackoffMs?: number
  /** A connection up at least this long resets the backoff (default 30000 ms). */
  resetBackoffAfterMs?: number
  /** A publish (or send) not acknowledged within this long (from the call, across reconnections) rejects with code 'timeout' (default 10000 ms). */
  publishTimeoutMs?: number
  /** The same for history reads and token refreshes (default 10000 ms). */
  requestTimeoutMs?: number
  /** From opening the socket to the server's "connected" frame (default 10000 ms). */
  connectTimeoutMs?: number
  /**
   * Ask the server for text-frame heartbeats (?heartbeat=1), answer its
   * {"type":"ping"} with {"type":"pong"}, and reconnect when nothing has
   * arrived for ping_interval_ms + max(5000, ping_interval_ms / 2).
   * Default false.
   */
  heartbeat?: boolean
  /**
   * Overrides which server closes (and failed handshakes, code 1006) are
   * retried. Default: every close except 4001 without getToken.
   */
  shouldReconnect?: (close: { code: number; reason: string }) => boolean
  /** For tests: timer functions (default globalThis's). */
  timers?: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(id: unknown): void }
  /** For tests: clock in ms (default Date.now). */
  now?: () => number
  /** For tests: random source in [0, 1) (default Math.random). */
  random?: () => number
}

export type ConnectionState = 'connecting' | 'connected' | 'disconnected'

export interface StateEvent {
  state: ConnectionState
  /** connecting, connected: the URL. */
  url?: string
  /** disconnected: the close code (1006 also for a failed handshake, or a socket the client gave up). */
  code?: number
  /** disconnected: the close reason, or the client's own ('connect timeout', 'heartbeat timeout', 'token refresh refused', 'getToken failed'). */
  reason?: string
  /** disconnected: true when the client will not reconnect. */
  final?: boolean
  /** disconnected, not final: milliseconds until the next attempt. */
  delayMs?: number
  /** connected: the server's "client" (the connection ID, as client.connectionId), "node", "version", "ping_interval_ms". */
  clientId?: string
  node?: string
  version?: string
  pingIntervalMs?: number
}

/** An Error carrying the wire's error code. */
export interface WsgateError extends Error {
  /**
   * The error frame's code (docs/protocol.md, "Error codes": 'forbidden',
   * 'busy', 'hook_unavailable', 'unsupported', …), or the client's:
   * 'timeout', 'closed', 'disconnected', 'bad_frame' (a frame the codec
   * could not decode).
   */
  code: string
  /** The error frame, when there was one. */
  frame?: Record<string, unknown>
  /** connect()'s rejection: the close that stopped the client. */
  closeCode?: number
  closeReason?: string
  /** 'dropped' notices: how many publications were lost. */
  count?: number
}

export interface MessageMeta {
  channel: string
  /** Channels with history: the publication's offset and its predecessor's lower bound. */
  offset?: number
  prev?: number
}

export interface SubscribedInfo {
  channel: string
  /** Channels with history: the channel's position in the ack. */
  offset?: number
  epoch?: string
  /**
   * Present when the subscribe resumed (since) or the position was lost:
   * true, nothing was missed; false, publications may have been missed
   * (read them with history(), or reload the state from its source).
   */
  recovered?: boolean
  /** An ack without id: the history was lost while the subscription replayed it. */
  unsolicited?: true
}

/**
 * A connection a join or leave frame names: a subscriber of a channel with
 * presence (the server's --presence).
 */
export interface PresenceMember {
  channel: string
  /** Its connection ID ("<node>.<32 hex>"): what the backend's control API names it by. */
  conn: string
  /** Its token's subject, or the connect hook's user; '' when anonymous. */
  user: string
  node: string
  /** When it subscribed, in Unix milliseconds. */
  joined: number
}

export interface SubscriptionHandlers {
  /**
   * Ask for the channel's join and leave frames in every subscribe (after
   * each reconnection too). They are changes, not a list: read the members
   * from your backend, again after each reconnection (onSubscribed), and
   * apply joins and leaves as set operations keyed by conn (one may come
   * twice). Default false.
   */
  presence?: boolean
  /** data: the JSON value; with the protobuf codec, the bytes (Uint8Array: parseJSON reads JSON). */
  onMessage?: (data: any, meta: MessageMeta) => void
  onSubscribed?: (info: SubscribedInfo) => void
  onError?: (err: WsgateError) => void
  /**
   * reason: the server's ('forbidden': a refreshed token no longer allows
   * the channel; 'server': the backend unsubscribed the connection), a
   * refused subscribe's error code, or 'unsubscribe'. The subscription is
   * over: it is not subscribed again after a reconnection.
   */
  onUnsubscribed?: (reason: string) => void
  /** presence: a connection subscribed to the channel. */
  onJoin?: (member: PresenceMember) => void
  /** presence: a connection unsubscribed from the channel, or closed. */
  onLeave?: (member: PresenceMember) => void
}

export declare class Subscription {
  readonly channel: string
  /** Last offset delivered or acknowledged (channels with history). */
  readonly offset: number | undefined
  readonly epoch: string | undefined
  /** False once unsubscribed, by the client or the server. */
  readonly active: boolean
  /** Every subscribe asks for join and leave frames (handlers.presence). */
  readonly presence: boolean
  unsubscribe(): void
  on(event: 'message', fn: (data: any, meta: MessageMeta) => void): this
  on(event: 'subscribed', fn: (info: SubscribedInfo) => void): this
  on(event: 'error', fn: (err: WsgateError) => void): this
  on(event: 'unsubscribed', fn: (reason: string) => void): this
  on(event: 'join' | 'leave', fn: (member: PresenceMember) => void): this
  off(event: string, fn: (...args: any[]) => void): this
}

export interface HistoryReply {
  type: 'history'
  id: number
  channel: string
  offset: number
  epoch: string
  recovered: boolean
  more: boolean
  /** data: the JSON value; with the protobuf codec, the bytes (Uint8Array). */
  publications: Array<{ offset: number; prev: number; data: any }>
}

export declare class Client {
  constructor(urls: string | string[], options?: ClientOptions)
  readonly urls: string[]
  readonly state: ConnectionState
  /**
   * The current (or last) connection's ID, "<node>.<32 hex>", from its
   * "connected" frame: what the backend's control API, hooks and presence
   * name it by. A new one on every connection; undefined before the first.
   */
  readonly connectionId: string | undefined
  /**
   * Starts connecting, and reconnecting until close() or a final close.
   * Resolves once connected; rejects (code 'closed', closeCode, closeReason)
   * if the client stops first. Unobserved, the rejection is not reported.
   */
  connect(): Promise<void>
  /** Closes for good; pending publishes, sends and history reads reject with code 'closed'. */
  close(): void
  on(event: 'state', fn: (e: StateEvent) => void): this
  /**
   * A message for this connection alone: the backend's (control API) or its
   * message hook's reply to send(). data: the JSON value; with the protobuf
   * codec, the bytes (Uint8Array: parseJSON reads JSON). Not stored: a push
   * while disconnected is lost.
   */
  on(event: 'push', fn: (data: any) => void): this
  /** Errors not tied to a request or a subscription, and exceptions thrown by listeners. */
  on(event: 'error', fn: (err: WsgateError | Error) => void): this
  off(event: string, fn: (...args: any[]) => void): this
  /** One subscription per channel: throws when channel already has one. */
  subscribe(channel: string, handlers?: SubscriptionHandlers): Subscription
  getSubscription(channel: string): Subscription | undefined
  /**
   * data: any JSON value; with the protobuf codec also a Uint8Array or an
   * ArrayBuffer, sent as raw bytes (any other value as its JSON text).
   * Resolves on the server's ack. Rejects with err.code the error frame's
   * code, 'timeout' or 'closed'. An idempotency key is generated unless
   * given, and the publish is re-sent with it after a reconnection.
   */
  publish(channel: string, data: unknown, options?: { idempotencyKey?: string }): Promise<void>
  history(channel: string, options?: { since?: Since; limit?: number }): Promise<HistoryReply>
  /**
   * Hands data to the backend's message hook (a node with --hook-message),
   * not to a channel: any JSON value; with the protobuf codec also a
   * Uint8Array or an ArrayBuffer. Resolves on the server's ack, after the
   * hook's reply, if any, was emitted as 'push'. Rejects with err.code the
   * error frame's ('unsupported': no message hook; 'busy',
   * 'hook_unavailable', 'too_large', 'rate_limited', …), 'timeout'
   * (publishTimeoutMs from the call), 'closed', or 'disconnected' when the
   * connection it was sent on ended first: it has no idempotency key and is
   * never sent twice (it may or may not have reached the backend). Made
   * while disconnected, it waits for the next connection.
   */
  send(data: unknown): Promise<void>
}

// The pure reconnection and token helpers.
export declare const DRAIN_PREFIX: string
export declare const MAX_RETRY_AFTER_MS: number
export declare const MIN_REFRESH_DELAY_MS: number
export declare function parseRetryAfter(reason: unknown): number | undefined
export declare function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number): number
export declare function drainDelay(retryAfterMs: number, random: () => number): number
export declare function isFinalClose(code: number, canRefreshToken: boolean): boolean
export declare function planReconnect(
  close: { code: number; reason?: string; upMs: number },
  attempt: number,
  opts: { minBackoffMs: number; maxBackoffMs: number; resetBackoffAfterMs: number; canRefreshToken: boolean },
  random: () => number,
): { final: true } | { final: false; delayMs: number; attempt: number }
export declare function nextUrlIndex(i: number, n: number): number
export declare function tokenExpiry(token: string): number | undefined
export declare function refreshDelay(expSec: number, nowMs: number, leadMs: number): number
