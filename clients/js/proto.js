// wsgate-client/proto: the Protobuf codec (subprotocol wsgate.v1.proto),
// a separate entry point so that users of JSON never load it:
//   import { Client } from 'wsgate-client'
//   import { protobuf } from 'wsgate-client/proto'
//   new Client(urls, { codec: protobuf })
export { protobuf, parseJSON, encodeClientFrame, decodeServerFrame, dataBytes } from './src/proto.js'
