// A minimal event emitter shared by Client and Subscription. A listener
// that throws does not break the emitter's state machine: the exception
// goes to _fail (the client's 'error' event).
export class Emitter {
  constructor() {
    this._l = new Map()
  }

  /** Adds fn as a listener of event type; returns this. */
  on(type, fn) {
    let s = this._l.get(type)
    if (!s) this._l.set(type, (s = new Set()))
    s.add(fn)
    return this
  }

  /** Removes a listener added with on; returns this. */
  off(type, fn) {
    const s = this._l.get(type)
    if (s) s.delete(fn)
    return this
  }

  _emit(type, ...args) {
    const s = this._l.get(type)
    if (!s) return
    for (const fn of [...s]) {
      try {
        fn(...args)
      } catch (e) {
        this._fail(e, type)
      }
    }
  }

  _fail(e, type) {
    if (type !== 'error') this._emit('error', e)
  }
}

/** An Error with the wire's error code (err.code) and the frame (err.frame). */
export function wsError(code, message, frame) {
  const e = new Error(message || code)
  e.code = code
  if (frame) e.frame = frame
  return e
}
