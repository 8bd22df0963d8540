#!/usr/bin/env bash
# Captures a real Linux-to-Linux TCP conversation for peer replay (tests/replay/peer/): two
# throwaway network namespaces joined by a veth pair, offloads off (so every segment is
# MSS-sized and every checksum final), tcpdump on the server's side.
# Scenario "kernel-upload-100k": the client (10.62.0.1) connects to 10.62.0.2:8080 and sends
# 100,000 bytes whose byte i is i & 0xff, then closes; the server (socat) discards them and
# closes. Needs root, iproute2, ethtool, tcpdump, socat, python3. Cleans up after itself.
# Usage: sudo bash tests/replay/peer/capture.sh [outdir]   (default: this folder)
set -euo pipefail
OUT=$(cd "${1:-$(dirname "$0")}" && pwd)
A=wt7pa; B=wt7pb
TMP=$(mktemp -d)
cleanup() { ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true

ip netns add $A; ip netns add $B
ip link add wt7-a netns $A type veth peer name wt7-b netns $B
for ns in $A $B; do
  ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip netns exec $ns ip link set lo up
done
ip netns exec $A ip link set wt7-a address 02:00:00:00:0b:01
ip netns exec $B ip link set wt7-b address 02:00:00:00:0b:02
ip netns exec $A ethtool -K wt7-a tx off rx off tso off gso off gro off >/dev/null
ip netns exec $B ethtool -K wt7-b tx off rx off tso off gso off gro off >/dev/null
ip netns exec $A ip addr add 10.62.0.1/24 dev wt7-a
ip netns exec $B ip addr add 10.62.0.2/24 dev wt7-b
ip netns exec $A ip link set wt7-a up
ip netns exec $B ip link set wt7-b up
sleep 1

python3 -c "import sys; sys.stdout.buffer.write(bytes(i & 0xff for i in range(100000)))" > "$TMP/data"
ip netns exec $B tcpdump -i wt7-b -U -s 0 -w "$TMP/upload.pcap" 'tcp port 8080' 2>/dev/null &
DUMP=$!
ip netns exec $B socat -u TCP-LISTEN:8080,reuseaddr OPEN:/dev/null,wronly &
SERVER=$!
sleep 0.7
ip netns exec $A socat -u OPEN:"$TMP/data" TCP:10.62.0.2:8080
wait $SERVER || true
sleep 0.7
kill $DUMP; wait $DUMP 2>/dev/null || true
cp "$TMP/upload.pcap" "$OUT/kernel-upload-100k.pcap"
echo "wrote $OUT/kernel-upload-100k.pcap ($(uname -r))"
