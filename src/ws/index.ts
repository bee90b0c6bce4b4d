// spate/ws: WebSocket on `ws` — the chat server, the resilient client, and the wire protocol
// they share (JSON envelopes, seq/ack for at-least-once delivery with de-duplication).
export {
  type AckEnvelope,
  CloseCode,
  DEFAULT_ROOM,
  type DecodeResult,
  type Envelope,
  type EnvelopeType,
  type ErrorPayload,
  type JoinRequest,
  type NickPayload,
  type PresencePayload,
  type ProtocolErrorCode,
  QueryParam,
  decode,
  encode,
  envelope,
  isAck,
} from './protocol.ts';
export {
  type WsChatServer,
  type WsChatServerOptions,
  type WsChatServerStats,
  type WsCloseOptions,
  type WsRateLimit,
  startWsChatServer,
} from './chat-server.ts';
export { WsClient } from './client.ts';
export type { WsClientOptions, WsClientState, WsClientStats, WsClientEvents, WsMessage, OverflowPolicy, ReceiveOverflowPolicy, ReconnectOptions, BatchOptions } from './client.ts';
export { WsPool } from './pool.ts';
export type { WsPoolOptions, WsPoolStats } from './pool.ts';
