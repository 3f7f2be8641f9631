#!/usr/bin/env bash
# Measures virtio-net throughput over a TAP between the default guest and the host. The script
# makes a network namespace with a TAP in it, serves a file of MiB mebibytes with busybox httpd
# from the namespace and runs Kiln inside the namespace. One guest boot runs the guest-side
# measures through the guest's shell (kiln.shell), fed on the serial console:
#   host->guest  the guest fetches the file with wget into /dev/null (frames the device receives)
#   guest->host  the guest sends MiB mebibytes of zeros with nc to a listener in the namespace
#                (frames the device transmits)
# and the host side measures the same transfers over loopback inside the namespace, for scale.
# Prints a Markdown table for docs/benchmarks.md. Needs root, ip and busybox.
# Usage: bench/net-throughput.sh [MiB] (default 64).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mib=${1:-64}
cache="${KILN_CACHE:-$HOME/.cache/kiln}"
ns="kiln-bench-$$"
tap=kbtap0
host=10.201.0.1
guest=10.201.0.2
work=$(mktemp -d)
pids=()
cleanup() {
  # Each helper runs in a session of its own (setsid), so its whole pipeline stops with it.
  for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
  ip netns delete "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" tuntap add dev "$tap" mode tap
ip -n "$ns" addr add "$host/24" dev "$tap"
ip -n "$ns" link set "$tap" up
mkdir "$work/www"
head -c $((mib << 20)) /dev/urandom >"$work/www/file"
setsid ip netns exec "$ns" busybox httpd -f -p "$host:8080" -h "$work/www" &
pids+=($!)
# The sinks count what arrives and write the count when the sender closes. A listening busybox nc
# whose standard input ends stops reading the network, hence the idle sleep in front of it.
sink() { setsid ip netns exec "$ns" sh -c "sleep 3600 | busybox nc -l -p $1 | wc -c >'$2'" & pids+=($!); }
sink 9000 "$work/received-guest"

cat >"$work/vm.json" <<JSON
{"boot-source": {"kernel_image_path": "$cache/guest/bzImage",
                 "initrd_path": "$cache/guest/initramfs.cpio.gz",
                 "boot_args": "console=ttyS0 reboot=k panic=1 kiln.ip=$guest/24 kiln.shell"},
 "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "$tap",
                         "guest_mac": "06:00:0a:c9:00:02"}],
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 256}}
JSON

# Each measure prints "BENCH <name> <start s> <end s> <bytes>"; guest times come from
# /proc/uptime (busybox wget and nc print no rate), host times from date.
guest_commands() {
  local up='$(cut -d" " -f1 /proc/uptime)'
  echo 'echo BENCH-START'
  echo "a=$up; wget -q -O /dev/null http://$host:8080/file; b=$up; echo BENCH rx \$a \$b $((mib << 20))"
  echo "a=$up; dd if=/dev/zero bs=1M count=$mib 2>/dev/null | nc $host 9000; b=$up; echo BENCH tx \$a \$b $((mib << 20))"
  echo 'exit'
}
mkfifo "$work/in"
{
  until grep -q "starting a shell" "$work/out" 2>/dev/null; do sleep 0.5; done
  sleep 2
  guest_commands
} >"$work/in" &
ip netns exec "$ns" "$top/kiln" --no-api --config-file "$work/vm.json" <"$work/in" >"$work/out" 2>"$work/err" ||
  { cat "$work/err" >&2; exit 1; }
grep -q BENCH-START "$work/out" || { echo "the guest shell never ran the commands:" >&2; tail -20 "$work/out" >&2; exit 1; }

hostside() {
  local label=$1 bytes=$2 a b; shift 2
  a=$(date +%s.%N); "$@" >/dev/null 2>&1; b=$(date +%s.%N)
  echo "BENCH $label $a $b $bytes"
}
{
  hostside rx $((mib << 20)) ip netns exec "$ns" busybox wget -q -O /dev/null "http://$host:8080/file"
  sink 9001 "$work/received-host"
  sleep 0.5
  hostside tx $((mib << 20)) ip netns exec "$ns" sh -c "dd if=/dev/zero bs=1M count=$mib 2>/dev/null | busybox nc $host 9001"
} >"$work/host"

measure() { tr -d '\r' <"$1" | awk -v k="$2" '$1 == "BENCH" && $2 == k && $3 ~ /^[0-9]/ { print $4 - $3, $5; exit }'; }
row() {
  local label=$1 key=$2 g h
  g=$(measure "$work/out" "$key"); h=$(measure "$work/host" "$key")
  awk -v l="$label" -v g="$g" -v h="$h" 'BEGIN {
    split(g, gv, " "); split(h, hv, " ")
    printf "| %s | %.1f MiB/s | %.1f MiB/s |\n", l, gv[2]/gv[1]/1048576, hv[2]/hv[1]/1048576
  }'
}
echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)$( [ -d /sys/module/kvm_pvm ] && echo ', KVM through kvm_pvm (nested)'); $mib MiB per transfer"
echo
echo "| transfer | guest over virtio-net and the TAP | host over loopback in the namespace |"
echo "|---|---|---|"
row "host to guest (guest wget of a file from busybox httpd)" rx
row "guest to host (guest nc of zeros to a listener)" tx
grep -h "virtio-net" "$work/err" | sed 's/^[^]]*] /Kiln: /' || true
sleep 1
echo "Bytes the guest->host listener received: $(cat "$work/received-guest" 2>/dev/null || echo none)"
