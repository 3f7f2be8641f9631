#!/usr/bin/env bash
# Measures Kiln's start-up: time from process start to the guest's first instruction, time to the
# default guest's init banner, and the VMM's resident memory. Prints a Markdown table for
# docs/benchmarks.md. Usage: bench/boot-times.sh [runs] (default 5).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
cache="${KILN_CACHE:-$HOME/.cache/kiln}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

gcc -c -o "$work/first.o" "$top/bench/guests/first-instruction.S"
ld -T "$top/bench/guests/first-instruction.ld" -o "$work/first.elf" "$work/first.o"
cat > "$work/first.json" <<JSON
{"boot-source": {"kernel_image_path": "$work/first.elf"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 128}}
JSON
cat > "$work/default.json" <<JSON
{"boot-source": {"kernel_image_path": "$cache/guest/bzImage",
                 "initrd_path": "$cache/guest/initramfs.cpio.gz",
                 "boot_args": "console=ttyS0 reboot=k panic=1 pci=off"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 256}}
JSON

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Runs Kiln on a config in the background, samples VmRSS every 20 ms, and prints
# "<ms to first match of PATTERN on stdout> <max RSS KiB> <boot-timer us or ->".
measure() {
  local config=$1 pattern=$2 start pid rss max=0 seen=""
  start=$(date +%s%N)
  "$top/kiln" --no-api --config-file "$config" --boot-timer </dev/null >"$work/out" 2>"$work/err" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ -n "$rss" ] && [ "$rss" -gt "$max" ] && max=$rss
    if [ -z "$seen" ] && grep -q "$pattern" "$work/out" "$work/err" 2>/dev/null; then
      seen=$(( ($(date +%s%N) - start) / 1000000 ))
    fi
    sleep 0.02
  done
  wait "$pid" || { echo "kiln failed:" >&2; cat "$work/err" >&2; exit 1; }
  if [ -z "$seen" ]; then
    grep -q "$pattern" "$work/out" "$work/err" || { echo "no \"$pattern\" in the output:" >&2; cat "$work/out" "$work/err" >&2; exit 1; }
    seen=$(( ($(date +%s%N) - start) / 1000000 ))
  fi
  local timer
  timer=$(sed -n 's/.*Guest-boot-time = \([0-9]*\) us.*/\1/p' "$work/err" | head -1)
  echo "$seen $max ${timer:--}"
}

: > "$work/first.txt"
for _ in $(seq "$runs"); do measure "$work/first.json" "Guest-boot-time" >> "$work/first.txt"; done
: > "$work/default.txt"
if [ -f "$cache/guest/bzImage" ]; then
  for _ in $(seq "$runs"); do measure "$work/default.json" "Kiln guest: Linux" >> "$work/default.txt"; done
fi

echo "Machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)$( [ -d /sys/module/kvm_pvm ] && echo ', KVM through kvm_pvm (nested)')"
echo "Runs: $runs each, median (min-max)"
echo
echo "| measure | median | min | max |"
echo "|---|---|---|---|"
row() {
  local label=$1 file=$2 column=$3 unit=$4
  [ -s "$file" ] || return 0
  local values
  values=$(awk -v c="$column" '$c != "-" { print $c }' "$file")
  [ -n "$values" ] || return 0
  echo "| $label | $(echo "$values" | median) $unit | $(echo "$values" | sort -n | head -1) $unit | $(echo "$values" | sort -n | tail -1) $unit |"
}
row "process start to first guest instruction (boot-timer device)" "$work/first.txt" 3 "µs"
row "VMM resident memory, tiny guest (peak VmRSS)" "$work/first.txt" 2 "KiB"
row "process start to init banner, default guest (bzImage, 1 vCPU)" "$work/default.txt" 1 "ms"
row "VMM resident memory, default guest booted to init (peak VmRSS)" "$work/default.txt" 2 "KiB"
