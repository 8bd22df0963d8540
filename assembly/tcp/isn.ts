// Initial sequence numbers, RFC 6528 section 3:
//   ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
// M is a timer ticking every 4 microseconds (from the host-given clock, `now()`); F is
// SipHash-2-4 under a 128-bit secret derived from the host seed (Cfg.SeedLo/SeedHi), taking
// the low 32 bits.
//
// Guarantees: for one 4-tuple, successive ISNs advance with the clock (one per 4 µs, modulo
// 2^32), so a new incarnation's ISN lies beyond the old one's (RFC 9293 3.4.1); different
// 4-tuples get unrelated offsets that an off-path attacker cannot guess without the seed
// (RFC 6528 3). Pure function of (seed, tuple, time): the same run replays exactly.
// Call `isnInit()` once at init, after the config is validated.

import { sipHashWords } from "../util/siphash";
import { deriveKey, KeyPurpose } from "../util/random";
import { now } from "../util/time";

let key0: u64 = 0;
let key1: u64 = 0;

/** Derives the secret key from the host seed. */
export function isnInit(): void {
  key0 = deriveKey(KeyPurpose.IsnK0);
  key1 = deriveKey(KeyPurpose.IsnK1);
}

/** The ISN for a connection at the current time. Addresses are IPv4, host order. */
export function isnFor(localAddr: u32, localPort: u32, remoteAddr: u32, remotePort: u32): u32 {
  const m = <u32>(now() >> 2); // RFC 6528 3: 4-microsecond timer
  const f = <u32>sipHashWords(key0, key1, localAddr, remoteAddr, (localPort << 16) | (remotePort & 0xFFFF), 0);
  return m + f;
}
