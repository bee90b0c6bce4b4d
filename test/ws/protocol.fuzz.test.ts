// Fuzz: the WebSocket envelope decoder takes any text frame a peer sends.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { asText, decode, encode, isPlainText } from '../../src/ws/protocol.ts';
import { fuzz } from '../helpers/fuzz.ts';

const envelopeLike = fc.record(
  {
    type: fc.oneof(fc.constantFrom('message', 'chat', 'join', 'leave', 'nick', 'ping', 'ack', 'error', 'system', ''), fc.string({ maxLength: 8 }), fc.integer()),
    payload: fc.jsonValue({ maxDepth: 2 }),
    timestamp: fc.oneof(fc.integer(), fc.string({ maxLength: 4 })),
    seq: fc.oneof(fc.integer({ min: -2, max: 1e6 }), fc.double(), fc.constant(Number.MAX_SAFE_INTEGER + 2)),
    id: fc.oneof(fc.string({ maxLength: 6 }), fc.integer()),
    from: fc.string({ maxLength: 6 }),
  },
  { requiredKeys: [] },
);
const frame = fc.oneof(
  envelopeLike.map((e) => JSON.stringify(e)),
  fc.array(envelopeLike, { maxLength: 4 }).map((a) => JSON.stringify(a)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 80 }),
);

test('decode (fuzz) - any text: ok with well-formed envelopes, or bad-json / bad-envelope; never a throw', () => {
  fc.assert(
    fc.property(frame, (text) => {
      const r = decode(text);
      if (!r.ok) {
        assert.ok(r.code === 'bad-json' || r.code === 'bad-envelope');
        assert.equal(typeof isPlainText(text, r.code), 'boolean');
        return;
      }
      assert.ok(r.envelopes.length > 0);
      for (const e of r.envelopes) {
        assert.ok(typeof e.type === 'string' && e.type.length > 0);
        assert.equal(typeof e.timestamp, 'number');
        assert.ok(e.seq === undefined || (Number.isSafeInteger(e.seq) && e.seq >= 0));
        const line = asText(e);
        assert.ok(line === undefined || typeof line === 'string');
      }
      // What was accepted survives a round trip unchanged.
      const again = decode(encode(r.envelopes));
      assert.ok(again.ok);
      assert.deepEqual(again.envelopes, r.envelopes);
    }),
    fuzz(2),
  );
});
