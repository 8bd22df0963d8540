// TCP sockets inside the stack: the host ABI (every function is exported from
// assembly/index.ts under the same name).
//
// Guarantees: every call validates its handle and arguments and answers with a value, never a
// trap; failures are negative Linux errno values the host maps to Node errors; nothing here
// allocates after init. Data moves without copies inside WASM: the host writes into the send
// ring and reads from the receive ring in place.
//
// ## Handles
//
// A handle is a connection-table index, 0 <= h < Cfg.TcpMaxConnections (listeners use the
// same table). The notify list (assembly/abi/notify.ts) reports `(HandleKind.TCP << 24) | h`
// whenever something the host cares about changed: readable, writable again, connected, peer
// FIN, error, reached CLOSED, accept queue non-empty. It is level-triggered: on a
// notification the host reads `tcpInfoPtr(h)` and acts.
//
// Lifetime: a handle belongs to the host from the call that returned it (tcpListen,
// tcpAccept, tcpConnect) until `tcpClose(h)` or `tcpAbort(h)`. After that the host must not
// use it. The connection lives on without the host (FIN-WAIT, CLOSING, LAST-ACK, TIME-WAIT);
// its slot is reused only when the host has let go AND the connection reached CLOSED. A
// connection that fails (RST, timeout) reaches CLOSED with a pending error but keeps its
// handle until the host calls `tcpClose` (which then frees it at once).
//
// ## Errors (negative return values)
//
//   EBADF 9 (handle not owned by the host), EAGAIN 11, EINVAL 22, EPIPE 32, EADDRINUSE 98,
//   EADDRNOTAVAIL 99, ENETUNREACH 101, ENOBUFS 105, EISCONN 106, ENOTCONN 107.
//   Pending errors reported in the info struct: ECONNREFUSED 111, ECONNRESET 104,
//   ETIMEDOUT 110, EHOSTUNREACH 113, ENETUNREACH 101.
//
// ## Functions
//
//   tcpListen(localAddr: u32, port: u32, backlog: u32, synBacklog: u32,
//             sndBuf: u32, rcvBuf: u32): i32
//       Passive open (RFC 9293 3.10.1). localAddr 0 = any of ours (else must be ours:
//       -EADDRNOTAVAIL); port 1..65535 (-EINVAL); backlog = accept queue length, synBacklog =
//       SYN queue length (0 = 128 each; at most 65535); sndBuf/rcvBuf = ring sizes of the
//       accepted connections (0 = Cfg.TcpSendBuffer / Cfg.TcpRecvBuffer; rounded up to a
//       power of two, 1 KiB .. 1 GiB). -EADDRINUSE when the port is taken, -ENOBUFS when the
//       connection table is full. Returns the listener handle.
//       A SYN that finds the SYN queue full, the accept queue full, the table full or the slab
//       empty is dropped and counted (`drop.tcp.syn_queue_full`, `drop.tcp.accept_queue_full`,
//       `drop.tcp.no_tcb`, `drop.tcp.no_buffers`); the peer retries. Established connections
//       are never touched.
//
//   tcpAccept(listener: i32): i32
//       Takes the oldest established connection of the accept queue: a handle, or -EAGAIN.
//       -EINVAL when `listener` is not a listener.
//
//   tcpConnect(dstAddr: u32, dstPort: u32, srcPort: u32, sndBuf: u32, rcvBuf: u32): i32
//       Active open (RFC 9293 3.10.1): sends a SYN. srcPort 0 = ephemeral (RFC 6056);
//       -EADDRNOTAVAIL when no port is free or srcPort is taken for this peer,
//       -ENOBUFS when the table or the slab is exhausted, -ENETUNREACH when IPv4 has no route,
//       -EINVAL for port 0 / address 0. Completion: the info flags get CONNECTED (notify), or
//       the info error gets ECONNREFUSED / ETIMEDOUT (SYN retries exhausted) / EHOSTUNREACH.
//
//   tcpWritePtr(h: i32): usize     address of the contiguous free area of the send ring
//   tcpWriteRoom(h: i32): u32      its length in bytes (0 when full or not writable)
//   tcpWriteCommit(h: i32, n: u32): i32
//       Queues the n bytes the host wrote at tcpWritePtr (n <= tcpWriteRoom). Returns 0, or
//       -EPIPE after shutdown/close or once the connection failed, -EINVAL when n is too big,
//       -EBADF. Allowed from SYN-SENT on (data waits for the handshake, RFC 9293 3.10.2).
//       When the ring was full and ACKs free space, the host is notified (writable again).
//
//   tcpReadPtr(h: i32): usize      address of the contiguous in-order received bytes
//   tcpReadAvail(h: i32): u32      their length
//   tcpReadConsume(h: i32, n: u32): i32
//       Frees n bytes (n <= tcpReadAvail); the window reopens, and a window update is sent
//       when it grew by 2*MSS or half the buffer (RFC 1122 4.2.3.3). 0, -EINVAL, -EBADF.
//
//   tcpShutdown(h: i32, how: i32): i32
//       how 0 = SHUT_RD (further received data is acknowledged and discarded),
//       1 = SHUT_WR (FIN after the queued data, RFC 9293 3.10.4), 2 = both. 0, -ENOTCONN
//       before a connect/accept completed for SHUT_WR in LISTEN, -EINVAL, -EBADF.
//
//   tcpClose(h: i32): i32
//       Graceful close and release of the handle: a FIN after queued data; if received data
//       was left unread, an RST instead (RFC 1122 4.2.2.13, as Linux). For a listener: the
//       port is released and every queued, unaccepted connection is reset.
//
//   tcpAbort(h: i32): i32
//       Sends an RST (in synchronized states, RFC 9293 3.10.5), drops everything and releases
//       the handle.
//
//   tcpSetOption(h: i32, opt: i32, a: u32, b: u32, c: u32): i32
//       opt 1 NODELAY: a = 1 disables Nagle (RFC 1122 4.2.3.4), 0 enables (the default).
//       opt 2 KEEPALIVE: a = 1 on / 0 off, b = idle ms before the first probe (0 = 7,200,000
//             as Linux), c = interval ms between probes (0 = 75,000).
//       opt 3 KEEPCNT: a = unanswered probes before ETIMEDOUT (0 = 9).
//       opt 4 USER_TIMEOUT: a = ms that sent data may stay unacknowledged before the
//             connection fails with ETIMEDOUT (0 = Cfg.TcpUserTimeoutMs).
//       Returns 0, -EINVAL, -EBADF.
//
//   tcpInfoPtr(h: i32): usize
//       Fills and returns a pointer to a TcpInfo struct describing h (valid until the next
//       tcpInfoPtr call; 0 for a bad handle). Layout, little-endian:
//
//         0  u32 state        TcpState (CLOSED 0, LISTEN 1, SYN_SENT 2, SYN_RECEIVED 3,
//                             ESTABLISHED 4, FIN_WAIT_1 5, FIN_WAIT_2 6, CLOSE_WAIT 7,
//                             CLOSING 8, LAST_ACK 9, TIME_WAIT 10)
//         4  u32 error        pending errno (positive; 0 none); stays set
//         8  u32 flags        INFO_CONNECTED 1, INFO_PEER_FIN 2 (all data before the FIN is
//                             in the ring), INFO_CAN_ACCEPT 4, INFO_WRITE_SHUT 8,
//                             INFO_CLOSED 16 (reached CLOSED: no more events), INFO_LISTENER 32
//        12  u32 readable     in-order bytes waiting in the receive ring
//        16  u32 writeRoom    free bytes in the send ring (total, not just contiguous)
//        20  u32 localAddr    host order
//        24  u32 remoteAddr   host order
//        28  u16 localPort
//        30  u16 remotePort
//        32  u64 bytesIn      payload bytes received in order
//        40  u64 bytesOut     payload bytes acknowledged by the peer
//        48  u32 retransmits  segments retransmitted
//        52  u32 srttUs       smoothed RTT (0 before the first sample)
//        56  u32 cwnd         congestion window, bytes
//        60  u32 mss          send MSS
//        64  u32 acceptQueue  connections waiting in tcpAccept (listeners)
//        68  u32 unsent       queued bytes not yet acknowledged
//       (72 bytes)
//
//   tcpNextDeadline(): f64   earliest TCP timer in µs, -1 for none (folded into nextDeadlineUs)
//   tcpConnectionsInUse(): u32, tcpSlabFreeBytes(): u32, tcpPortsInUse(): u32
//       Pool statistics, so a test can check that churn returns every resource.
