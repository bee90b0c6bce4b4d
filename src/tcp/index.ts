// spate/tcp: line-framed TCP servers on node:net — an echo server and a chat server, both with
// bounded memory per connection (backpressure, send-buffer caps), idle timeouts and graceful close.
export { type CloseOptions, type EchoServer, type EchoServerOptions, type EchoServerStats, startEchoServer } from './echo-server.ts';
export { type ChatServer, type ChatServerOptions, type ChatServerStats, type RateLimit, startChatServer } from './chat-server.ts';
export { LineSplitter, type PushResult } from './line-splitter.ts';
