// The wire protocol shared by spate's WebSocket chat server and `WsClient`.
//
// A text frame holds one JSON envelope `{ type, payload, timestamp }`, or a JSON array of them
// (a batch: the receiver handles each in order). Reliability: a client may stamp each envelope
// with `seq`, increasing by one per envelope for the life of its client id (given on connect as
// `?client=<id>`, kept across reconnects). The server answers `{ type: 'ack', seq }`, meaning
// every envelope with a `seq` ≤ that one has been received (cumulative), and drops an envelope
// whose `seq` is ≤ the last it saw for that client id — so a client resends everything not yet
// acknowledged after a reconnect and nothing is delivered twice.

/** Envelope types the chat server sends or understands. Other types get an `error` envelope. */
export type EnvelopeType =
  | 'join'
  | 'leave'
  | 'message'
  | 'chat'
  | 'error'
  | 'system'
  | 'nick'
  | 'ack'
  | 'ping'
  | 'pong';

/** One protocol message. `timestamp` is wall-clock milliseconds since the epoch (`Date.now()`). */
export interface Envelope<P = unknown> {
  readonly type: string;
  readonly payload?: P | undefined;
  readonly timestamp: number;
  /** Sender's sequence number, for acknowledgement and de-duplication. */
  readonly seq?: number | undefined;
  /** Optional message id chosen by the sender; relayed unchanged. */
  readonly id?: string | undefined;
  /** On relayed messages: the sender's nickname. */
  readonly from?: string | undefined;
  /** On relayed messages and join/leave: the room. */
  readonly room?: string | undefined;
}

/** Cumulative acknowledgement: every envelope with `seq` ≤ this one was received. */
export interface AckEnvelope {
  readonly type: 'ack';
  readonly seq: number;
}

/** Payload of the server's `join` and `leave` broadcasts (`users`: how many are in the room now). */
export interface PresencePayload {
  readonly nick: string;
  readonly room: string;
  readonly users: number;
  /** On `leave`: why, when the server removed the user ('too slow', 'timed out', 'closed'). */
  readonly reason?: string | undefined;
}

/** Payload of the server's `nick` broadcast when a user renames itself. */
export interface NickPayload {
  readonly old: string;
  readonly nick: string;
  readonly room: string;
}

/** What a client may send in a `join` envelope to switch room and/or set its nickname. */
export interface JoinRequest {
  readonly room?: string | undefined;
  readonly nick?: string | undefined;
}

/** Payload of an `error` envelope. */
export interface ErrorPayload {
  readonly code: ProtocolErrorCode;
  readonly message: string;
  /** The `seq` of the offending envelope, if it had one. */
  readonly seq?: number | undefined;
}

/** Why the server refused something. */
export type ProtocolErrorCode =
  | 'bad-json'
  | 'bad-envelope'
  | 'unknown-type'
  | 'rate-limited'
  | 'bad-nick'
  | 'nick-taken'
  | 'bad-room';

/** Close codes used by the server (RFC 6455 §7.4.1). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  unsupportedData: 1003,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
} as const;

/** Query parameters read on connect. */
export const QueryParam = {
  /** Stable client id for de-duplication across reconnects. */
  client: 'client',
  /** Room to join on connect. */
  room: 'room',
  /** Nickname to use on connect. */
  nick: 'nick',
  /** `text`: a plain-text peer from the start (lines of text instead of envelopes). */
  format: 'format',
} as const;

/** The room a connection joins when it names none. */
export const DEFAULT_ROOM = 'lobby';

/** Builds an envelope stamped with the current wall-clock time. */
export function envelope<P>(type: EnvelopeType, payload?: P, extra?: Partial<Omit<Envelope<P>, 'type' | 'payload'>>): Envelope<P> {
  return { type, payload, timestamp: Date.now(), ...extra };
}

/** Serialises an envelope, an ack, or a batch of them for one text frame. */
export function encode(message: Envelope | AckEnvelope | readonly (Envelope | AckEnvelope)[]): string {
  return JSON.stringify(message);
}

/** The result of `decode`: the envelopes of one frame, or why it was refused. */
export type DecodeResult =
  | { readonly ok: true; readonly envelopes: Envelope[] }
  | { readonly ok: false; readonly code: 'bad-json' | 'bad-envelope'; readonly message: string };

/**
 * Parses one text frame: an envelope or an array of envelopes. An envelope needs a string `type`;
 * a missing `timestamp` is filled with `Date.now()`; `seq`, when present, must be a safe integer ≥ 0.
 */
export function decode(text: string): DecodeResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'bad-json', message: 'Frame is not valid JSON' };
  }
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) return { ok: false, code: 'bad-envelope', message: 'Empty batch' };
  const envelopes: Envelope[] = [];
  for (const item of items) {
    const problem = checkEnvelope(item);
    if (problem !== undefined) return { ok: false, code: 'bad-envelope', message: problem };
    const e = item as Record<string, unknown>;
    envelopes.push(typeof e.timestamp === 'number' ? (e as unknown as Envelope) : { ...(e as unknown as Envelope), timestamp: Date.now() });
  }
  return { ok: true, envelopes };
}

function checkEnvelope(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return 'Envelope must be a JSON object';
  const e = item as Record<string, unknown>;
  if (typeof e.type !== 'string' || e.type.length === 0) return 'Envelope needs a string `type`';
  if (e.timestamp !== undefined && typeof e.timestamp !== 'number') return '`timestamp` must be a number';
  if (e.seq !== undefined && !(Number.isSafeInteger(e.seq) && (e.seq as number) >= 0)) return '`seq` must be an integer ≥ 0';
  if (e.id !== undefined && typeof e.id !== 'string') return '`id` must be a string';
  return undefined;
}

/**
 * Whether a frame `decode` refused is plain text rather than a broken envelope: not JSON and not
 * starting with `{`, or a JSON scalar (`42`, `"hi"`). Such a frame is a chat message from a
 * plain-text client (the seed's); a broken object, or an object or array that is not a valid
 * envelope, stays an error.
 */
export function isPlainText(text: string, code: 'bad-json' | 'bad-envelope'): boolean {
  return code === 'bad-json' ? !/^\s*\{/.test(text) : !/^\s*[[{]/.test(text);
}

/**
 * An envelope as one line of text for a plain-text peer (undefined: nothing to say): relayed
 * messages as `<from>: <text>`, presence as `* <nick> joined (<n> users)`, errors as `! <message>`.
 */
export function asText(message: Envelope): string | undefined {
  const p = message.payload as Record<string, unknown> | string | undefined | null;
  const field = (key: string): unknown => (typeof p === 'object' && p !== null ? p[key] : undefined);
  switch (message.type) {
    case 'message':
    case 'chat': {
      const body = typeof p === 'string' ? p : typeof field('text') === 'string' ? (field('text') as string) : JSON.stringify(p ?? null);
      return message.from === undefined ? body : `${message.from}: ${body}`;
    }
    case 'join':
    case 'leave': {
      const users = field('users');
      const count = typeof users === 'number' ? ` (${users === 1 ? '1 user' : `${users} users`})` : '';
      return `* ${String(field('nick'))} ${message.type === 'join' ? 'joined' : 'left'}${count}`;
    }
    case 'nick':
      return `* ${String(field('old'))} is now ${String(field('nick'))}`;
    case 'error':
      return `! ${String(field('message'))}`;
    case 'system':
      return `* ${typeof p === 'string' ? p : JSON.stringify(p ?? null)}`;
    default:
      return undefined;
  }
}

/** True if `value` is an `{ type: 'ack', seq }` envelope. */
export function isAck(value: unknown): value is AckEnvelope {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'ack' && Number.isSafeInteger((value as { seq?: unknown }).seq);
}
