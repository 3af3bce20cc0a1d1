import { Emitter, wsError } from './emitter.js'
import { Subscription } from './subscription.js'
import { planReconnect, nextUrlIndex, isFinalClose } from './backoff.js'
import { tokenExpiry, refreshDelay } from './jwt.js'

const DEFAULTS = {
  minBackoffMs: 250,
  maxBackoffMs: 10000,
  resetBackoffAfterMs: 30000,
  publishTimeoutMs: 10000,
  requestTimeoutMs: 10000,
  connectTimeoutMs: 10000,
  refreshBeforeMs: 30000,
  heartbeat: false,
  tokenIn: 'protocol',
}

// Code given to 'disconnected' for a socket the client gave up on itself
// (connect timeout, heartbeat timeout, refused refresh, getToken failure).
const LOCAL = 1006
// Delay before retrying a refresh that failed without "unauthorized", and a
// subscribe refused for a passing reason (history_unavailable, rate_limited,
// too_many_channels: the node's channel cap, which frees as others leave).
const RETRY_MS = 5000
const SUB_RETRY_MS = 1000
const RETRYABLE = ['history_unavailable', 'rate_limited', 'too_many_channels']
// A command's resend mode (_command): sent once, now or at the next connection.
const ONCE = 'once'

const noop = () => {}

/**
 * The JSON protocol (subprotocol wsgate.v1): the default codec. A codec
 * turns the client's commands into frames and frames into the JSON
 * protocol's objects; wsgate-client/proto has the Protobuf one.
 */
export const jsonCodec = {
  subprotocol: 'wsgate.v1',
  encode: JSON.stringify,
  decode(data) {
    if (typeof data !== 'string') {
      if (!ArrayBuffer.isView(data)) return // the protocol is text; binary is never sent
      data = new TextDecoder().decode(data) // a Node Buffer from some WebSocket libraries
    }
    return JSON.parse(data)
  },
}

function newKey() {
  const c = globalThis.crypto
  if (c && c.randomUUID) return c.randomUUID()
  return Date.now().toString(36) + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2)
}

/**
 * A wsgate client: one WebSocket at a time, reconnected with backoff over
 * the given URLs (round robin), subscriptions resumed from their position.
 */
export class Client extends Emitter {
  constructor(urls, options = {}) {
    super()
    this.urls = [].concat(urls)
    if (!this.urls.length) throw new TypeError('wsgate: no URL')
    const o = (this.options = { ...DEFAULTS, ...options })
    this._codec = o.codec || jsonCodec
    this._WS = o.WebSocket || globalThis.WebSocket
    if (!this._WS) throw new TypeError('wsgate: no WebSocket: pass options.WebSocket')
    this._timers = o.timers || globalThis
    this._now = o.now || Date.now
    this._random = o.random || Math.random
    /** 'connecting' | 'connected' | 'disconnected' */
    this.state = 'disconnected'
    /** The connection ID ("<node>.<32 hex>") of the current or last connection; new on each. */
    this.connectionId = undefined
    this._subs = new Map() // channel -> Subscription
    this._req = new Map() // id -> {frame, resend, done, sent, timer}
    this._id = 0
    this._url = -1
    this._attempt = 0
    this._ws = null
    this._gen = 0 // bumps at every connection attempt and at close()
    this._running = false
    this._stopped = false
    this._upAt = 0
    this._token = undefined
  }

  _after(ms, fn) {
    return this._timers.setTimeout(fn, ms)
  }

  _clear(t) {
    if (t) this._timers.clearTimeout(t)
  }

  _state(state, info) {
    this.state = state
    this._emit('state', { state, ...info })
  }

  /**
   * Starts connecting, and reconnecting until close() or a final close.
   * Returns a promise resolved once connected, rejected (err.code "closed",
   * err.closeCode, err.closeReason) when the client stops first: close(),
   * or a final close. Unobserved, that rejection is not reported as
   * unhandled. Calling connect() again returns the same promise.
   */
  connect() {
    if (this.state === 'connected') return Promise.resolve()
    if (!this._ready) {
      this._ready = new Promise((resolve, reject) => (this._readyFns = [resolve, reject]))
      this._ready.catch(noop)
    }
    if (!this._running) {
      this._running = true
      this._stopped = false
      this._open()
    }
    return this._ready
  }

  /** Settles connect()'s promise: resolved when err is undefined. */
  _settle(err) {
    const fns = this._readyFns
    this._ready = this._readyFns = null
    if (fns) err ? fns[1](err) : fns[0]()
  }

  _stop(code, reason, quiet) {
    this._running = false
    this._stopped = true
    this._rejectAll('closed')
    const e = wsError('closed', 'client stopped: ' + code + (reason ? ' ' + reason : ''))
    e.closeCode = code
    e.closeReason = reason
    this._settle(e)
    if (!quiet) this._state('disconnected', { code, reason, final: true })
  }

  /**
   * Closes the connection for good: no reconnection, pending publishes,
   * sends and history reads rejected with code "closed". Subscriptions are
   * kept for a later connect().
   */
  close() {
    const was = this._running
    this._gen++
    this._clear(this._reconnectTimer)
    this._stopped = true // a send in flight rejects 'closed' too (_stop), not 'disconnected'
    this._teardown(true)
    this._stop(1000, 'client closed', !was)
  }

  async _open() {
    const gen = ++this._gen
    this._url = nextUrlIndex(this._url, this.urls.length)
    let url = this.urls[this._url]
    this._state('connecting', { url })
    let token
    if (this.options.getToken) {
      try {
        token = await this.options.getToken()
      } catch (e) {
        if (gen !== this._gen) return
        this._emit('error', e)
        return this._drop('getToken failed')
      }
      if (gen !== this._gen) return // close() meanwhile
    }
    this._token = token || undefined
    const q = []
    if (this.options.heartbeat) q.push('heartbeat=1')
    if (token && this.options.tokenIn === 'query') q.push('token=' + encodeURIComponent(token))
    if (q.length) url += (url.includes('?') ? '&' : '?') + q.join('&')
    // The codec's subprotocol, with the token's when it goes there; JSON,
    // the server's default, offers none without a token.
    const c = this._codec
    const protocols = token && this.options.tokenIn !== 'query' ? [c.subprotocol, 'wsgate.token.' + token] : c !== jsonCodec ? [c.subprotocol] : undefined
    let ws
    try {
      ws = protocols ? new this._WS(url, protocols) : new this._WS(url)
      if (c.binaryType) ws.binaryType = c.binaryType
    } catch (e) {
      this._emit('error', e)
      return this._drop('WebSocket failed: ' + e.message)
    }
    this._ws = ws
    ws.onmessage = (e) => ws === this._ws && this._frame(e.data)
    ws.onclose = (e) => ws === this._ws && this._disconnected(e.code, e.reason || '', true)
    ws.onerror = noop // a close event follows
    this._connectTimer = this._after(this.options.connectTimeoutMs, () => this._drop('connect timeout'))
  }

  /** Clears the connection's timers and forgets its socket (closing it if asked). */
  _teardown(close) {
    const ws = this._ws
    this._ws = null
    this._clear(this._connectTimer)
    this._clear(this._hbTimer)
    this._clear(this._refreshTimer)
    this._connectTimer = this._hbTimer = this._refreshTimer = null
    if (ws && close) {
      ws.onmessage = ws.onclose = null
      ws.onerror = noop // the ws library throws on an 'error' without listener
      try {
        ws.close(1000)
      } catch {
        // already closed
      }
    }
    for (const sub of this._subs.values()) {
      sub._id = 0
      sub._waiting = true
      this._clear(sub._retry)
      sub._retry = null
    }
    for (const [id, r] of this._req) {
      if (r.resend === false || (r.resend === ONCE && r.sent && !this._stopped)) {
        this._req.delete(id)
        this._clear(r.timer)
        r.done(wsError('disconnected', 'connection lost'))
      }
    }
  }

  /** Gives up the current socket (a local reason) and reconnects. */
  _drop(reason) {
    this._disconnected(LOCAL, reason, false)
  }

  /**
   * The connection is gone: fromServer when its socket closed (a server's
   * close, or a failed handshake), else the client gave it up.
   */
  _disconnected(code, reason, fromServer) {
    this._teardown(!fromServer)
    const upMs = this._upAt ? this._now() - this._upAt : 0
    this._upAt = 0
    const o = this.options
    let final = isFinalClose(code, !!o.getToken)
    if (o.shouldReconnect && fromServer) final = !o.shouldReconnect({ code, reason })
    if (final || !this._running) return this._stop(code, reason)
    const plan = planReconnect({ code, reason, upMs }, this._attempt, { ...o, canRefreshToken: true }, this._random)
    this._attempt = plan.attempt
    this._state('disconnected', { code, reason, final: false, delayMs: plan.delayMs })
    this._reconnectTimer = this._after(plan.delayMs, () => this._open())
  }

  _rejectAll(code) {
    for (const r of this._req.values()) {
      this._clear(r.timer)
      r.done(wsError(code, 'client closed'))
    }
    this._req.clear()
  }

  _send(frame) {
    const ws = this._ws
    if (!ws || ws.readyState !== 1) return false
    try {
      ws.send(this._codec.encode(frame))
      return true
    } catch (e) {
      this._emit('error', e)
      return false
    }
  }

  _frame(data) {
    this._lastFrame = this._now()
    let f
    try {
      f = this._codec.decode(data)
    } catch (e) {
      return this._emit('error', wsError('bad_frame', 'bad frame: ' + e.message))
    }
    if (!f || typeof f !== 'object') return
    const sub = typeof f.channel === 'string' ? this._subs.get(f.channel) : undefined
    switch (f.type) {
      case 'connected':
        return this._connected(f)
      case 'ping':
        return void this._send({ type: 'pong' })
      case 'message':
        if (sub && sub._message(f)) this._subscribeFrame(sub)
        return
      case 'history':
        return void (f.id != null && this._reply(f.id, null, f))
      case 'ack':
        if (f.id != null) return this._reply(f.id, null, f)
        // an ack without id: the subscription's history was lost mid-replay
        if (sub && !sub._waiting) sub._ack(f, true)
        return
      case 'error':
        if (f.id != null) return this._reply(f.id, wsError(f.code, f.message, f), f)
        if (f.code === 'dropped' && sub) {
          const e = wsError('dropped', f.message, f)
          e.count = parseInt(f.message, 10) || undefined
          sub._emit('error', e)
          if (sub._dropped(f)) this._subscribeFrame(sub)
          return
        }
        return this._emit('error', wsError(f.code, f.message, f))
      case 'unsubscribed':
        if (!sub) return
        if (f.reason === 'history_unavailable') {
          // the replay failed: subscribe again with since, unless a subscribe is already on its way
          if (!sub._waiting) this._retrySub(sub, wsError(f.reason, 'history unavailable during replay', f))
          return
        }
        return this._ended(sub, f.reason) // forbidden, server: over, not subscribed again
      case 'push':
        return this._emit('push', f.data)
      case 'join':
      case 'leave':
        // not replayed: delivered even while a resubscribe waits for its ack
        if (sub && sub.presence) sub._presence(f)
        return
    }
  }

  _connected(f) {
    if (this.state === 'connected') return
    this._clear(this._connectTimer)
    this._connectTimer = null
    this._upAt = this._now()
    this.state = 'connected'
    this.connectionId = f.client
    const p = f.ping_interval_ms
    if (this.options.heartbeat && p > 0) {
      this._hbMs = p + Math.max(5000, p / 2)
      this._hbTimer = this._after(this._hbMs, () => this._heartbeat())
    }
    this._scheduleRefresh()
    for (const sub of this._subs.values()) this._subscribeFrame(sub)
    for (const r of this._req.values()) if (r.resend === true || (r.resend === ONCE && !r.sent)) r.sent = this._send(r.frame)
    this._settle()
    this._state('connected', { clientId: f.client, node: f.node, version: f.version, pingIntervalMs: p, url: this.urls[this._url] })
  }

  _heartbeat() {
    const idle = this._now() - this._lastFrame
    if (idle >= this._hbMs) return this._drop('heartbeat timeout')
    this._hbTimer = this._after(this._hbMs - idle, () => this._heartbeat())
  }

  _scheduleRefresh() {
    this._clear(this._refreshTimer)
    this._refreshTimer = null
    const exp = this._token && tokenExpiry(this._token)
    if (exp === undefined || !this.options.getToken) return
    const ms = refreshDelay(exp, this._now(), this.options.refreshBeforeMs)
    this._refreshTimer = this._after(ms, () => this._refresh())
  }

  async _refresh() {
    const ws = this._ws
    const retry = () => {
      if (ws === this._ws) this._refreshTimer = this._after(RETRY_MS, () => this._refresh())
    }
    let token
    try {
      token = await this.options.getToken()
    } catch (e) {
      this._emit('error', e)
      return retry()
    }
    if (ws !== this._ws || !token) return
    this._request({ type: 'refresh', token }, false, this.options.requestTimeoutMs).then(
      () => {
        if (ws !== this._ws) return
        this._token = token
        this._scheduleRefresh()
      },
      (e) => {
        if (ws !== this._ws) return
        this._emit('error', e)
        if (e.code === 'unauthorized') this._drop('token refresh refused')
        else retry()
      },
    )
  }

  /**
   * Sends a command with a fresh id; done(err, reply) gets its answer.
   * resend: true, sent again on every new connection until answered
   * (publish, history); false, sent now if connected, and failed with
   * 'disconnected' when its connection ends (subscribe, refresh, …); ONCE,
   * sent now or on the next connection, and failed when the connection it
   * went out on ends (send: no idempotency key, so never sent twice).
   */
  _command(frame, resend, done, timeoutMs) {
    const id = ++this._id
    frame.id = id
    const r = { frame, resend, done, sent: false }
    if (timeoutMs) {
      r.timer = this._after(timeoutMs, () => {
        this._req.delete(id)
        done(wsError('timeout', 'no answer within ' + timeoutMs + ' ms'))
      })
    }
    this._req.set(id, r)
    if (this.state === 'connected') r.sent = this._send(frame)
    return id
  }

  _request(frame, resend, timeoutMs) {
    if (this._stopped) return Promise.reject(wsError('closed', 'client closed'))
    return new Promise((resolve, reject) => {
      this._command(frame, resend, (e, f) => (e ? reject(e) : resolve(f)), timeoutMs)
    })
  }

  _reply(id, err, f) {
    const r = this._req.get(id)
    if (!r) return
    this._req.delete(id)
    this._clear(r.timer)
    r.done(err, f)
  }

  /**
   * Subscribes to channel. handlers: onMessage(data, meta), onSubscribed(info),
   * onError(err), onUnsubscribed(reason), and with presence: true (asked in
   * every subscribe, after each reconnection too) onJoin(member),
   * onLeave(member); the same as events of the returned Subscription
   * ('message', 'subscribed', 'error', 'unsubscribed', 'join', 'leave').
   */
  subscribe(channel, handlers) {
    if (this._subs.has(channel)) throw new Error('wsgate: already subscribed to ' + channel)
    const sub = new Subscription(this, channel, handlers)
    this._subs.set(channel, sub)
    this._subscribeFrame(sub)
    return sub
  }

  /** The subscription to channel, if any. */
  getSubscription(channel) {
    return this._subs.get(channel)
  }

  _subscribeFrame(sub) {
    this._clear(sub._retry)
    sub._retry = null
    sub._waiting = true
    if (this.state !== 'connected' || !sub.active) return
    const frame = { type: 'subscribe', channel: sub.channel }
    const since = sub._since()
    if (since) frame.since = since
    if (sub.presence) frame.presence = true
    const id = (sub._id = this._command(frame, false, (e, f) => {
      if (sub._id !== id || !sub.active) return // superseded, or gone
      if (!e) return sub._ack(f, false)
      if (e.code === 'disconnected') return
      sub._id = 0
      if (e.code === 'no_history' && since) {
        // the channel no longer keeps history: subscribe without since
        sub.offset = sub.epoch = undefined
        sub._lost = true
        return this._subscribeFrame(sub)
      }
      if (RETRYABLE.includes(e.code)) return this._retrySub(sub, e)
      sub._emit('error', e)
      this._ended(sub, e.code)
    }))
  }

  _retrySub(sub, e) {
    sub._id = 0
    sub._waiting = true
    sub._emit('error', e)
    if (!sub.active || !this._ws) return // a reconnection subscribes again anyway
    this._clear(sub._retry)
    sub._retry = this._after(SUB_RETRY_MS * (1 + this._random()), () => this._subscribeFrame(sub))
  }

  /** The subscription is over (server's reason, or a refused subscribe's code). */
  _ended(sub, reason) {
    if (!sub.active) return
    sub.active = false
    this._clear(sub._retry)
    if (this._subs.get(sub.channel) === sub) this._subs.delete(sub.channel)
    sub._emit('unsubscribed', reason)
  }

  _unsubscribe(sub) {
    if (!sub.active) return
    if (this.state === 'connected') this._command({ type: 'unsubscribe', channel: sub.channel }, false, noop)
    this._ended(sub, 'unsubscribe')
  }

  /**
   * Publishes data on channel: any JSON value (the Protobuf codec also
   * sends a Uint8Array or an ArrayBuffer as raw bytes). Resolves on the server's ack;
   * rejects with err.code the error frame's code, "timeout" or "closed".
   * Carries an idempotency key (generated unless given) and is sent again
   * with it after a reconnection, until publishTimeoutMs.
   */
  publish(channel, data, opts = {}) {
    const frame = { type: 'publish', channel, data: data === undefined ? null : data }
    frame.idempotency_key = opts.idempotencyKey || newKey()
    return this._request(frame, true, this.options.publishTimeoutMs).then(noop)
  }

  /**
   * Hands data (any JSON value; the Protobuf codec also sends bytes) to the
   * backend's message hook, not to a channel. Resolves on the server's ack,
   * after the hook's reply, if any, was emitted as 'push'. Rejects with
   * err.code the error frame's ('unsupported': the node has no message
   * hook; 'busy', 'hook_unavailable', 'too_large', …), 'timeout',
   * 'closed', or 'disconnected' when the connection it went out on ended
   * first: it carries no idempotency key, so it is never sent twice. Made
   * while disconnected, it waits for the next connection (publishTimeoutMs).
   */
  send(data) {
    const frame = { type: 'send', data: data === undefined ? null : data }
    return this._request(frame, ONCE, this.options.publishTimeoutMs).then(noop)
  }

  /** Reads channel's retained publications: resolves with the history reply. */
  history(channel, opts = {}) {
    const frame = { type: 'history', channel }
    if (opts.since) frame.since = opts.since
    if (opts.limit) frame.limit = opts.limit
    return this._request(frame, true, this.options.requestTimeoutMs)
  }
}
