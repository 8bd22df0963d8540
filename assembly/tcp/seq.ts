// Sequence-number arithmetic modulo 2^32 (RFC 9293 3.4).
//
// Guarantees: comparisons are correct for any two numbers less than 2^31 apart, by the sign
// of their 32-bit difference (as BSD's SEQ_LT family); nothing else in TCP compares sequence
// numbers with plain `<`.

@inline export function seqLt(a: u32, b: u32): bool { return <i32>(a - b) < 0; }
@inline export function seqLeq(a: u32, b: u32): bool { return <i32>(a - b) <= 0; }
@inline export function seqGt(a: u32, b: u32): bool { return <i32>(a - b) > 0; }
@inline export function seqGeq(a: u32, b: u32): bool { return <i32>(a - b) >= 0; }
