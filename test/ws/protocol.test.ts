import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CloseCode, decode, encode, envelope, isAck } from '../../src/ws/protocol.ts';

describe('ws protocol', () => {
  test('envelope() - stamps type, payload and a wall-clock timestamp; encode() is JSON', () => {
    const before = Date.now();
    const e = envelope('message', { text: 'hi' }, { seq: 3 });
    assert.equal(e.type, 'message');
    assert.deepEqual(e.payload, { text: 'hi' });
    assert.equal(e.seq, 3);
    assert.ok(e.timestamp >= before && e.timestamp <= Date.now());
    assert.deepEqual(JSON.parse(encode(e)), e);
  });

  test('decode() - one envelope, or a batch as an array, in order', () => {
    assert.deepEqual(decode('{"type":"message","payload":1,"timestamp":5}'), { ok: true, envelopes: [{ type: 'message', payload: 1, timestamp: 5 }] });
    const batch = decode(encode([envelope('message', 'a', { seq: 1 }), envelope('message', 'b', { seq: 2 })]));
    assert.ok(batch.ok);
    assert.deepEqual(batch.envelopes.map((e) => [e.payload, e.seq]), [['a', 1], ['b', 2]]);
  });

  test('decode() - fills a missing timestamp', () => {
    const result = decode('{"type":"ping"}');
    assert.ok(result.ok);
    assert.equal(typeof result.envelopes[0]!.timestamp, 'number');
  });

  test('decode() - refuses bad JSON and bad envelopes with a reason', () => {
    assert.deepEqual(decode('{oops'), { ok: false, code: 'bad-json', message: 'Frame is not valid JSON' });
    for (const text of ['42', 'null', '[]', '{"payload":1}', '{"type":""}', '{"type":"m","seq":-1}', '{"type":"m","seq":1.5}', '{"type":"m","timestamp":"now"}', '{"type":"m","id":7}', '[{"type":"m"},3]']) {
      const result = decode(text);
      assert.equal(result.ok, false, text);
      assert.equal(!result.ok && result.code, 'bad-envelope', text);
    }
  });

  test('isAck() - recognises { type: "ack", seq } only', () => {
    assert.equal(isAck({ type: 'ack', seq: 4 }), true);
    assert.equal(isAck({ type: 'ack' }), false);
    assert.equal(isAck({ type: 'message', seq: 4 }), false);
    assert.equal(isAck(null), false);
  });

  test('CloseCode - the RFC 6455 codes the server uses', () => {
    assert.deepEqual(CloseCode, { normal: 1000, goingAway: 1001, unsupportedData: 1003, policyViolation: 1008, messageTooBig: 1009, internalError: 1011, tryAgainLater: 1013 });
  });
});
