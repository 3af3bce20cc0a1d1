// wsgate-client: the JavaScript client of wsgate's WebSocket protocol
// (docs/protocol.md). No dependencies; loads as an ES module in browsers
// (<script type="module">, no bundler) and in Node 18+ (pass options.WebSocket
// where there is no global WebSocket, e.g. the "ws" package). The Protobuf
// codec is a separate entry point, ./proto.js (wsgate-client/proto).
export { Client, jsonCodec } from './src/client.js'
export { Subscription } from './src/subscription.js'
export {
  parseRetryAfter,
  backoffDelay,
  drainDelay,
  isFinalClose,
  planReconnect,
  nextUrlIndex,
  DRAIN_PREFIX,
  MAX_RETRY_AFTER_MS,
} from './src/backoff.js'
export { tokenExpiry, refreshDelay, MIN_REFRESH_DELAY_MS } from './src/jwt.js'
