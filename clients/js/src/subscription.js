import { Emitter } from './emitter.js'

// One channel's subscription and its position in the channel's history:
// the client's rules of docs/history.md ("The client's rules"), kept free
// of I/O so they can be tested alone. The Client sends the frames.
export class Subscription extends Emitter {
  constructor(client, channel, h = {}) {
    super()
    this.channel = channel
    /** Last offset delivered (or the ack's position): L. undefined without history. */
    this.offset = undefined
    /** Epoch of offset: E. undefined until a channel with history acknowledges. */
    this.epoch = undefined
    /** False once unsubscribed (by the client or the server). */
    this.active = true
    /** Every subscribe asks for the channel's join and leave frames. */
    this.presence = !!h.presence
    this._c = client
    this._id = 0 // id of the last subscribe sent on this connection; 0: none
    this._waiting = true // messages are ignored until the ack of subscribe _id
    this._lost = false // a fallback lost the position: the next ack says recovered:false
    this._retry = null
    if (h.onMessage) this.on('message', h.onMessage)
    if (h.onSubscribed) this.on('subscribed', h.onSubscribed)
    if (h.onError) this.on('error', h.onError)
    if (h.onUnsubscribed) this.on('unsubscribed', h.onUnsubscribed)
    if (h.onJoin) this.on('join', h.onJoin)
    if (h.onLeave) this.on('leave', h.onLeave)
  }

  /** Stops receiving the channel. */
  unsubscribe() {
    this._c._unsubscribe(this)
  }

  _fail(e) {
    this._c._emit('error', e) // a listener threw
  }

  /** The since of the next subscribe: the position, when there is one. */
  _since() {
    return this.epoch === undefined ? undefined : { offset: this.offset, epoch: this.epoch }
  }

  /**
   * An ack for this subscription: its own (unsolicited false) or one
   * without id (history lost mid-replay). Sets the position and emits
   * 'subscribed'.
   */
  _ack(f, unsolicited) {
    let recovered = f.recovered
    if (f.epoch !== undefined) {
      if (recovered !== true) this.offset = f.offset
      this.epoch = f.epoch
    }
    if (this._lost && recovered === undefined) recovered = false
    this._lost = false
    this._waiting = false
    const info = { channel: this.channel, offset: f.offset, epoch: f.epoch, recovered }
    if (unsolicited) info.unsolicited = true
    this._emit('subscribed', info)
  }

  /**
   * A message frame of the channel. Delivers it, or returns true when the
   * client must subscribe again with since (a gap, prev > L, or an offset
   * at or below L: a new epoch or a duplicate), the message not delivered.
   */
  _message(f) {
    if (this._waiting) return false // the replay after the ack has it
    const o = f.offset
    if (o !== undefined && this.epoch !== undefined) {
      if (o <= this.offset || f.prev > this.offset) return true
      this.offset = o
    }
    this._emit('message', f.data, { channel: this.channel, offset: o, prev: f.prev })
    return false
  }

  /** A join or leave frame: emitted with the member it names. */
  _presence(f) {
    this._emit(f.type, { channel: this.channel, conn: f.conn, user: f.user, node: f.node, joined: f.joined })
  }

  /**
   * A "dropped" notice. Returns true when the client should resubscribe at
   * once: the notice's offset (the last before the gap) is at or past L.
   */
  _dropped(f) {
    return !this._waiting && this.epoch !== undefined && f.offset !== undefined && f.offset >= this.offset
  }
}
