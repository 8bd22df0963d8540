// Proportional Rate Reduction (RFC 6937, assembly/tcp/cc/prr.ts): first through the
// congestion-control hooks of the test-only module build/tcpparts-test.wasm on exact values
// (the per-ACK sndcnt, pipe and cwnd of a recovery, worked out by hand from RFC 6937 3.1), then
// whole connections over MemoryLinks on a virtual clock, with and without SACK.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadParts } from './support/tcpparts.mjs';
import { createStack, MemoryLink } from '../dist/index.js';
import { virtualTransfer } from './support/virtual-transfer.mjs';

const NEWRENO = 1, CUBIC = 2;
const DUPACK = 1, RTO = 2;
const MSS = 1000;

/** A connection of `algo` grown to cwnd = `flight` bytes, PRR on unless `prr` is 0. */
function grown({ algo = NEWRENO, flight = 20 * MSS, prr = 1 } = {}) {
  const s = loadParts({ tcpPrr: prr });
  const cc = s.x.stateAreaPtr();
  s.x.setNow(0);
  assert.ok(s.x.ccInit(cc, algo, MSS));
  while (s.x.ccCwnd(cc) < flight) s.x.ccOnAck(cc, 2 * MSS, 0, 0, 0);
  assert.is(s.x.ccCwnd(cc), flight);
  return { ...s, cc };
}

test('prr: RFC 6937 section 5 situation: 20 segments out, the first lost, sends on every other ACK down to ssthresh', () => {
  const { x, cc, counter } = grown();
  // The third duplicate ACK (segment 4 SACKed) enters recovery: ssthresh = 20 / 2 segments,
  // RecoverFS = FlightSize = 20 segments.
  x.ccOnCongestionEvent(cc, DUPACK, 20 * MSS);
  assert.is(x.ccSsthreshBytes(cc), 10 * MSS);
  assert.is(x.prrIsActive(cc), 1);
  assert.is(x.prrRecoverFs(cc), 20 * MSS);
  assert.is(counter('tcp.prr.recoveries'), 1);
  // Each ACK SACKs one more original segment (DeliveredData = 1 SMSS). pipe (RFC 6675): the
  // 20 + new segments sent, less the lost first one, less those SACKed, plus the
  // retransmission once sent. The sender sends whole segments while the room is not 0,
  // the retransmission (R) first, then new data (N).
  let sentSegs = 20, sacked = 3, retransmitted = 0;
  const rows = [];
  for (let ack = 3; ack <= 19; ack++, sacked++) {
    const pipe = (sentSegs - 1 - sacked + retransmitted) * MSS;
    const sndcnt = x.ccRecoveryAck(cc, MSS, pipe, 0);
    const cwnd = x.ccCwnd(cc);
    let sent = '';
    while (x.ccRecoveryRoom(cc, MSS) > 0) {
      if (!retransmitted) { retransmitted = 1; sent += 'R'; } else { sentSegs++; sent += 'N'; }
      x.ccRecoverySent(cc, MSS);
    }
    rows.push(`${ack}:${pipe / MSS}/${sndcnt}/${cwnd / MSS}/${sent || '-'}`);
  }
  // ack:pipe/sndcnt (bytes)/cwnd/sent. While pipe > ssthresh: sndcnt = CEIL(prr_delivered *
  // 10 / 20) - prr_out, so half a segment on each odd ACK (rounded up to one), none on each
  // even one; from ACK 15 pipe <= ssthresh and the duplicate ACKs (snd.una still) take
  // PRR-CRB: sndcnt = MIN(ssthresh - pipe, prr_delivered - prr_out), one per ACK, pipe
  // held at ssthresh.
  assert.equal(rows, [
    '3:16/500/16.5/R', '4:16/0/16/-', '5:15/500/15.5/N', '6:15/0/15/-', '7:14/500/14.5/N',
    '8:14/0/14/-', '9:13/500/13.5/N', '10:13/0/13/-', '11:12/500/12.5/N', '12:12/0/12/-',
    '13:11/500/11.5/N', '14:11/0/11/-', '15:10/0/10/-', '16:9/1000/10/N', '17:9/1000/10/N',
    '18:9/1000/10/N', '19:9/1000/10/N',
  ]);
  assert.is(x.prrDelivered(cc), 17 * MSS);
  assert.is(x.prrOut(cc), 10 * MSS, '1 retransmission + 9 new segments for 17 delivered');
  assert.is(counter('tcp.prr.proportional_acks'), 12);
  assert.is(counter('tcp.prr.crb_acks'), 5);
  assert.is(counter('tcp.prr.ssrb_acks'), 0);
  // The retransmission's ACK reaches RecoveryPoint: cwnd = ssthresh (RFC 6937 3.1), whatever
  // FlightSize is (RFC 6582's exit would give min(ssthresh, FlightSize + SMSS) = 3 segments).
  x.ccOnRecoveryExit(cc, 2 * MSS);
  assert.is(x.ccCwnd(cc), 10 * MSS);
  assert.is(x.prrIsActive(cc), 0);
  assert.is(counter('tcp.prr.exits'), 1);
  assert.is(x.ccRecoveryRoom(cc, MSS), 0, 'no PRR room outside recovery');
});

test('prr: pipe <= ssthresh: PRR-SSRB on an ACK that advances snd.una, PRR-CRB otherwise', () => {
  for (const [unaAdvanced, expected, rule] of [[1, 2 * MSS, 'tcp.prr.ssrb_acks'], [0, MSS, 'tcp.prr.crb_acks']]) {
    const { x, cc, counter } = grown();
    x.ccOnCongestionEvent(cc, DUPACK, 20 * MSS);
    // Many losses: pipe 6 segments, below ssthresh (10). First ACK delivers 1 SMSS.
    // SSRB: MIN(10 - 6, MAX(1 - 0, 1) + 1) = 2 segments; CRB: MIN(4, 1 - 0) = 1 segment.
    assert.is(x.ccRecoveryAck(cc, MSS, 6 * MSS, unaAdvanced), expected);
    assert.is(x.ccCwnd(cc), 6 * MSS + expected, 'cwnd = pipe + sndcnt');
    assert.is(counter(rule), 1);
    // What was allowed goes out; the next ACK then delivers 3 SMSS at pipe 5 segments.
    x.ccRecoverySent(cc, expected);
    assert.is(x.ccRecoveryRoom(cc, MSS), 0);
    // SSRB: MIN(5, MAX(4 - 2, 3) + 1) = 4; CRB: MIN(5, 4 - 1) = 3.
    assert.is(x.ccRecoveryAck(cc, 3 * MSS, 5 * MSS, unaAdvanced), unaAdvanced ? 4 * MSS : 3 * MSS);
    // The reduction bound never lets pipe pass ssthresh: at pipe = ssthresh nothing goes.
    x.ccRecoverySent(cc, unaAdvanced ? 4 * MSS : 3 * MSS);
    assert.is(x.ccRecoveryAck(cc, 5 * MSS, 10 * MSS, unaAdvanced), 0);
  }
});

test('prr: partial sndcnt rounds up to one whole segment; the overshoot comes off the next ACK', () => {
  const { x, cc } = grown({ flight: 30 * MSS });
  x.ccOnCongestionEvent(cc, DUPACK, 30 * MSS);          // ssthresh 15 segments, RecoverFS 30
  assert.is(x.ccRecoveryAck(cc, MSS, 28 * MSS, 0), 500); // CEIL(1000 * 15000 / 30000) - 0
  assert.is(x.prrSndcnt(cc), 500);
  assert.is(x.ccRecoveryRoom(cc, MSS), MSS);
  x.ccRecoverySent(cc, MSS);
  assert.is(x.prrSndcnt(cc), 0);
  assert.is(x.ccRecoveryRoom(cc, MSS), 0);
  assert.is(x.ccRecoveryAck(cc, MSS, 27 * MSS, 0), 0);   // CEIL(2000 / 2) - 1000
  assert.is(x.ccRecoveryAck(cc, 3 * MSS, 25 * MSS, 0), 1500); // CEIL(5000 / 2) - 1000
  assert.is(x.ccRecoveryRoom(cc, MSS), 2 * MSS);
});

test('prr: with CUBIC ssthresh is CUBIC\'s (FlightSize * 0.7) and the exit sets cwnd to it', () => {
  const { x, cc } = grown({ algo: CUBIC });
  x.ccOnCongestionEvent(cc, DUPACK, 20 * MSS);
  assert.is(x.ccSsthreshBytes(cc), 14 * MSS);
  // pipe 18 > ssthresh 14: CEIL(1000 * 14000 / 20000) = 700.
  assert.is(x.ccRecoveryAck(cc, MSS, 18 * MSS, 0), 700);
  x.ccOnRecoveryExit(cc, MSS);
  assert.is(x.ccCwnd(cc), 14 * MSS);
});

test('prr: partial ACKs and duplicate ACKs leave cwnd to PRR (no deflation, no inflation)', () => {
  const { x, cc } = grown();
  x.ccOnCongestionEvent(cc, DUPACK, 20 * MSS);
  x.ccRecoveryAck(cc, MSS, 16 * MSS, 0);
  const cwnd = x.ccCwnd(cc);
  x.ccOnDupAck(cc);
  assert.is(x.ccCwnd(cc), cwnd, 'no RFC 5681 3.2 step 4 inflation');
  x.ccOnAck(cc, 5 * MSS, 0, 1, 0);
  assert.is(x.ccCwnd(cc), cwnd, 'no RFC 6582 partial-ACK deflation');
});

test('prr: a timeout ends PRR: cwnd 1 SMSS, no room, and the next recovery starts afresh', () => {
  const { x, cc, counter } = grown();
  x.ccOnCongestionEvent(cc, DUPACK, 20 * MSS);
  x.ccRecoveryAck(cc, MSS, 16 * MSS, 0);
  x.ccRecoverySent(cc, MSS);
  x.ccOnCongestionEvent(cc, RTO, 19 * MSS);
  assert.is(x.prrIsActive(cc), 0);
  assert.is(x.ccCwnd(cc), MSS);
  assert.is(x.ccRecoveryAck(cc, MSS, 5 * MSS, 1), 0, 'ACKs after the timeout are not PRR\'s');
  assert.is(counter('tcp.prr.exits'), 0);
  while (x.ccCwnd(cc) < 12 * MSS) x.ccOnAck(cc, 2 * MSS, 0, 0, 0);
  x.ccOnCongestionEvent(cc, DUPACK, 12 * MSS);
  assert.is(x.prrRecoverFs(cc), 12 * MSS);
  assert.is(x.prrDelivered(cc), 0);
  assert.is(x.prrOut(cc), 0);
  assert.is(counter('tcp.prr.recoveries'), 2);
});

test('prr: tcpPrr 0 keeps RFC 5681/6582 recovery exactly (inflation, deflation, exit window)', () => {
  const { x, cc, counter } = grown({ prr: 0 });
  x.ccOnCongestionEvent(cc, DUPACK, 20 * MSS);
  assert.is(x.prrIsActive(cc), 0);
  assert.is(x.ccCwnd(cc), 13 * MSS);                      // ssthresh + 3 SMSS
  assert.is(x.ccRecoveryAck(cc, MSS, 16 * MSS, 0), 0);
  assert.is(x.ccRecoveryRoom(cc, MSS), 0);
  assert.is(x.ccCwnd(cc), 13 * MSS);
  x.ccOnDupAck(cc);
  assert.is(x.ccCwnd(cc), 14 * MSS);
  x.ccOnRecoveryExit(cc, 2 * MSS);
  assert.is(x.ccCwnd(cc), 3 * MSS);                       // min(ssthresh, FlightSize + SMSS)
  assert.is(counter('tcp.prr.recoveries'), 0);
});

test('prr: hostile hook inputs never trap: RecoverFS 0, pipe and delivered at 2^32 - 1', () => {
  const { x, cc } = grown();
  x.ccOnCongestionEvent(cc, DUPACK, 0);
  assert.is(x.prrRecoverFs(cc), 0);
  x.ccRecoveryAck(cc, 0xffffffff, 0xffffffff, 0);
  assert.ok(x.ccCwnd(cc) <= 2 ** 30 && x.ccCwnd(cc) >= MSS);
  x.ccRecoveryAck(cc, 0xffffffff, 0, 1);
  x.ccRecoverySent(cc, 0xffffffff);
  x.ccRecoverySent(cc, 0xffffffff);
  assert.is(x.prrOut(cc) >>> 0, 0xffffffff, 'prr_out saturates');
  assert.ok(x.ccRecoveryRoom(cc, 0) === 0);
});

// ---------------------------------------------------------------- whole connections

const transfer = virtualTransfer;

for (const sack of [true, false]) {
  for (const congestion of ['newreno', 'cubic']) {
    test(`connection: 4 MiB over 1% loss, 5 ms delay, ${congestion}, SACK ${sack ? 'on' : 'off'}: intact, every recovery PRR's and left at ssthresh`, async () => {
      const r = await transfer({ tcp: { congestion, sack, prr: true }, bytes: 4 * 1024 * 1024, impair: { loss: 0.01, delay: '5ms' } });
      assert.ok(r.intact, 'every byte arrived, in order');
      assert.ok(r.link['dropped.loss'] > 0, 'the link lost frames');
      const c = r.client;
      assert.ok(c['tcp.prr.recoveries'] > 0, 'recoveries ran PRR');
      assert.is(c['tcp.prr.recoveries'], c['tcp.fast_retransmit'], 'every fast recovery is a PRR one');
      assert.ok(c['tcp.prr.exits'] > 0 && c['tcp.prr.exits'] <= c['tcp.prr.recoveries']);
      assert.ok(c['tcp.prr.proportional_acks'] + c['tcp.prr.crb_acks'] + c['tcp.prr.ssrb_acks'] > 0);
      console.log(`note: prr ${congestion} sack=${sack}: ${r.goodputMbps.toFixed(2)} Mbit/s simulated, ` +
        `${c['tcp.prr.recoveries']} recoveries, ${c['tcp.prr.exits']} exits, ${c['tcp.timer.rto']} RTOs`);
    });
  }
}

test('connection: tcp.prr must be a boolean (createStack names the option)', async () => {
  const [a] = MemoryLink.pair({});
  try {
    await createStack({ link: a, address: '10.0.0.1/24', tcp: { prr: 1 } });
    assert.unreachable('createStack accepted tcp.prr = 1');
  } catch (e) {
    assert.instance(e, TypeError);
    assert.match(e.message, 'options.tcp.prr must be a boolean');
  }
});

test.run();
