#!/usr/bin/env bash
# Captures a real Linux-to-Linux TCP conversation for peer replay (tests/replay/peer/): two
# throwaway network namespaces joined by a veth pair, offloads off (so every segment is
# MSS-sized and every checksum final), tcpdump on the server's side.
# Scenarios (the client is 10.62.0.1, the server 10.62.0.2:8080; the data is 100,000 bytes
# whose byte i is i & 0xff):
#   upload:   "kernel-upload-100k": the client sends the data and closes; the server (socat)
#             discards it and closes;
#   download: "kernel-download-100k": the server sends the data and closes; the client reads
#             it and closes.
# Needs root, iproute2, ethtool, tcpdump, socat, python3. Cleans up after itself.
# Usage: sudo bash tests/replay/peer/capture.sh [outdir] [upload|download|all]
#        (default: this folder, all)
set -euo pipefail
OUT=$(cd "${1:-$(dirname "$0")}" && pwd)
WHICH=${2:-all}
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
# scenario NAME SERVER-COMMAND CLIENT-COMMAND: records the conversation on the server's side.
scenario() {
  local name=$1 server=$2 client=$3
  ip netns exec $B tcpdump -i wt7-b -U -s 0 -w "$TMP/$name.pcap" 'tcp port 8080' 2>/dev/null &
  local dump=$!
  ip netns exec $B bash -c "$server" &
  local srv=$!
  sleep 0.7
  ip netns exec $A bash -c "$client"
  wait $srv || true
  sleep 0.7
  kill $dump; wait $dump 2>/dev/null || true
  cp "$TMP/$name.pcap" "$OUT/$name.pcap"
  echo "wrote $OUT/$name.pcap ($(uname -r))"
}
if [ "$WHICH" = all ] || [ "$WHICH" = upload ]; then
  scenario kernel-upload-100k "socat -u TCP-LISTEN:8080,reuseaddr OPEN:/dev/null,wronly" "socat -u OPEN:$TMP/data TCP:10.62.0.2:8080"
fi
if [ "$WHICH" = all ] || [ "$WHICH" = download ]; then
  scenario kernel-download-100k "socat -u OPEN:$TMP/data TCP-LISTEN:8080,reuseaddr" "socat -u TCP:10.62.0.2:8080 OPEN:/dev/null,wronly"
fi
