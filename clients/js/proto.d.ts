// Types of wsgate-client/proto, the Protobuf codec (subprotocol
// wsgate.v1.proto): import { protobuf } from 'wsgate-client/proto';
// new Client(urls, { codec: protobuf }).
import type { Codec, Command, Frame } from './index.js'

/**
 * The Protobuf codec: ClientFrame and ServerFrame of wsgate.v1.proto in
 * binary frames (binaryType 'arraybuffer'). Message, history and push data
 * are Uint8Array; publish and send send a Uint8Array, any other
 * ArrayBufferView or an ArrayBuffer as raw bytes, any other value as its
 * JSON text in UTF-8.
 */
export declare const protobuf: Codec & { subprotocol: 'wsgate.v1.proto'; binaryType: 'arraybuffer' }

/** Parses bytes received in Protobuf mode (UTF-8 JSON) as JSON; throws when they are not. */
export declare function parseJSON(data: Uint8Array): any

/** A command as a ClientFrame (protobuf.encode). Throws on an unknown type or a field of the wrong type. */
export declare function encodeClientFrame(command: Command): Uint8Array

/**
 * A ServerFrame as the JSON protocol's frame object (protobuf.decode): {}
 * for a kind this client does not know. Throws a TypeError on malformed
 * input (a truncated varint, a length past the end of its message…) and on
 * text.
 */
export declare function decodeServerFrame(data: ArrayBuffer | ArrayBufferView): Frame

/** A publication's (or a send's) data as the bytes the Protobuf codec sends. */
export declare function dataBytes(data: unknown): Uint8Array
