#!/usr/bin/env bash
# Measures virtio-blk throughput and 4 KiB operations from inside the default guest against the
# same file read and written on the host. One guest boot runs every guest-side measure through
# the guest's shell (kiln.shell), fed on the serial console. Prints a Markdown table for
# docs/benchmarks.md. Usage: bench/block-io.sh [MiB] [engine], where MiB defaults to 64 and
# engine, the data drive's io_engine, is Sync (the default) or Async.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mib=${1:-64}
engine=${2:-Sync}
case "$engine" in
  Sync | Async) ;;
  *) echo "engine must be Sync or Async, not '$engine'" >&2; exit 2 ;;
esac
cache="${KILN_CACHE:-$HOME/.cache/kiln}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp "$cache/guest/rootfs.ext4" "$work/rootfs.ext4"
truncate -s $((mib * 2))M "$work/data.img"
cat > "$work/vm.json" <<JSON
{"boot-source": {"kernel_image_path": "$cache/guest/bzImage",
                 "boot_args": "console=ttyS0 reboot=k panic=1 kiln.shell"},
 "drives": [
   {"drive_id": "rootfs", "path_on_host": "$work/rootfs.ext4", "is_root_device": true,
    "is_read_only": false},
   {"drive_id": "data", "path_on_host": "$work/data.img", "is_root_device": false,
    "is_read_only": false, "cache_type": "Writeback", "io_engine": "$engine"}],
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 256}}
JSON

# Each measure prints "BENCH <name> <start s> <end s> <bytes>"; times come from /proc/uptime in
# the guest (busybox dd prints no rate) and from date on the host.
guest_commands() {
  local up='$(cut -d" " -f1 /proc/uptime)'
  echo 'echo BENCH-START'
  echo "a=$up; dd if=/dev/zero of=/dev/vdb bs=1M count=$mib conv=fsync 2>/dev/null; b=$up; echo BENCH seq-write \$a \$b $((mib << 20))"
  echo "a=$up; dd if=/dev/vdb of=/dev/null bs=1M count=$mib iflag=direct 2>/dev/null; b=$up; echo BENCH seq-read \$a \$b $((mib << 20))"
  echo "a=$up; dd if=/dev/vdb of=/dev/null bs=4k count=4096 iflag=direct 2>/dev/null; b=$up; echo BENCH 4k-read \$a \$b 16777216"
  echo "a=$up; dd if=/dev/zero of=/dev/vdb bs=4k count=4096 oflag=direct conv=fsync 2>/dev/null; b=$up; echo BENCH 4k-write \$a \$b 16777216"
  echo 'exit'
}
# Input that reaches the console before the guest's shell starts is partly lost, so the commands
# go in only once the shell has announced itself.
mkfifo "$work/in"
{
  until grep -q "starting a shell" "$work/out" 2>/dev/null; do sleep 0.5; done
  sleep 2
  guest_commands
} >"$work/in" &
"$top/kiln" --no-api --config-file "$work/vm.json" <"$work/in" >"$work/out" 2>"$work/err" ||
  { cat "$work/err" >&2; exit 1; }
grep -q BENCH-START "$work/out" || { echo "the guest shell never ran the commands:" >&2; tail -20 "$work/out" >&2; exit 1; }

host() {
  local label=$1 bytes=$2 a b; shift 2
  a=$(date +%s.%N); "$@" 2>/dev/null; b=$(date +%s.%N)
  echo "BENCH $label $a $b $bytes"
}
{
  host seq-write $((mib << 20)) dd if=/dev/zero of="$work/data.img" bs=1M count="$mib" conv=fsync,notrunc
  host seq-read $((mib << 20)) dd if="$work/data.img" of=/dev/null bs=1M count="$mib" iflag=direct
  host 4k-read 16777216 dd if="$work/data.img" of=/dev/null bs=4k count=4096 iflag=direct
  host 4k-write 16777216 dd if=/dev/zero of="$work/data.img" bs=4k count=4096 oflag=direct conv=fsync,notrunc
} >"$work/host"

# Prints "<seconds> <bytes>" for a measure; only output lines start with "BENCH <name> <digit>".
measure() { tr -d '\r' <"$1" | awk -v k="$2" '$1 == "BENCH" && $2 == k && $3 ~ /^[0-9]/ { print $4 - $3, $5; exit }'; }
row() {
  local label=$1 key=$2 unit=$3
  local guest host
  guest=$(measure "$work/out" "$key"); host=$(measure "$work/host" "$key")
  awk -v l="$label" -v u="$unit" -v g="$guest" -v h="$host" 'BEGIN {
    split(g, gv, " "); split(h, hv, " ")
    if (u == "MiB/s") printf "| %s | %.1f MiB/s | %.1f MiB/s |\n", l, gv[2]/gv[1]/1048576, hv[2]/hv[1]/1048576
    else printf "| %s | %.0f IOPS | %.0f IOPS |\n", l, gv[2]/4096/gv[1], hv[2]/4096/hv[1]
  }'
}
echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)$( [ -d /sys/module/kvm_pvm ] && echo ', KVM through kvm_pvm (nested)'); $mib MiB per sequential run; data drive io_engine $engine"
echo
echo "| measure | guest (virtio-blk, $engine) | host (same file) |"
echo "|---|---|---|"
row "sequential write, 1 MiB blocks, fsync" seq-write "MiB/s"
row "sequential read, 1 MiB blocks, O_DIRECT" seq-read "MiB/s"
row "4 KiB reads, O_DIRECT" 4k-read IOPS
row "4 KiB writes, O_DIRECT" 4k-write IOPS
