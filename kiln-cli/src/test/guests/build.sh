#!/usr/bin/env bash
# Builds the freestanding test guests that Kiln's integration tests boot.
#
# Usage: build.sh OUTDIR
#
# Writes OUTDIR/<guest>.elf for each guest: ELF64 x86-64 executables loaded at 1 MiB.
# serial-echo and zeropage use the Linux 64-bit boot protocol, pvh-info and smp the PVH
# entry. A guest is rebuilt only when a hash over its sources, this script and the
# compiler versions changes, so repeated runs are cheap. Concurrent runs with the same
# OUTDIR are serialized with flock.
set -euo pipefail

if [[ $# -ne 1 ]]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi

src_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out_dir=$1
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)

CC=${CC:-gcc}
LD=${LD:-ld}

for tool in "$CC" "$LD"; do
	if ! command -v "$tool" >/dev/null; then
		echo "build.sh: $tool not found; install gcc and binutils" >&2
		exit 1
	fi
done

CFLAGS=(
	-std=gnu11 -O2 -Wall -Wextra -Werror
	-ffreestanding -nostdlib -static -fno-pic -no-pie
	-mno-red-zone -mgeneral-regs-only -mcmodel=small
	-fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables
	-fcf-protection=none -fno-tree-loop-distribute-patterns
	-I "$src_dir"
)
LDFLAGS=(-nostdlib -static --no-dynamic-linker -z max-page-size=0x1000 --build-id=none)
# The guests load as one RWX segment on purpose. Binutils 2.39 added this warning.
ld_help=$("$LD" --help)
if [[ $ld_help == *--no-warn-rwx-segments* ]]; then
	LDFLAGS+=(--no-warn-rwx-segments)
fi

lib_common=(lib/guest.c lib/guest.h)
linux64=(lib/linux64_start.S lib/linux64.ld)
pvh=(lib/pvh_start.S lib/pvh.h lib/pvh.ld)

# Each guest: its linker script and the sources it compiles or includes.
declare -A guest_script guest_sources
guest_script[serial-echo]=lib/linux64.ld
guest_sources[serial-echo]="serial-echo.c ${lib_common[*]} ${linux64[*]}"
guest_script[zeropage]=lib/linux64.ld
guest_sources[zeropage]="zeropage.c ${lib_common[*]} ${linux64[*]}"
guest_script[pvh-info]=lib/pvh.ld
guest_sources[pvh-info]="pvh-info.c ${lib_common[*]} ${pvh[*]}"
guest_script[smp]=lib/pvh.ld
guest_sources[smp]="smp.c smp.h smp_ap.S ${lib_common[*]} ${pvh[*]}"
guest_script[lifecycle]=lib/pvh.ld
guest_sources[lifecycle]="lifecycle.c ${lib_common[*]} ${pvh[*]}"

tool_versions=$("$CC" --version | head -n 1; "$LD" --version | head -n 1)

build_guest() {
	local name=$1
	local script=${guest_script[$name]}
	local -a sources
	read -r -a sources <<<"${guest_sources[$name]}"
	local output="$out_dir/$name.elf"
	local stamp="$out_dir/.$name.hash"

	local hash
	hash=$(
		cd "$src_dir"
		{
			printf '%s\n' "$tool_versions" "${CFLAGS[*]}" "${LDFLAGS[*]}"
			sha256sum "${BASH_SOURCE[0]}" "${sources[@]}"
		} | sha256sum | cut -d ' ' -f 1
	)
	if [[ -f $output && -f $stamp && $(<"$stamp") == "$hash" ]]; then
		return
	fi

	local work
	work=$(mktemp -d "$out_dir/.$name.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	local -a objects=()
	local source
	for source in "${sources[@]}"; do
		case $source in
		*.c | *.S)
			local object="$work/$(basename "$source").o"
			"$CC" "${CFLAGS[@]}" -c "$src_dir/$source" -o "$object"
			objects+=("$object")
			;;
		esac
	done
	"$LD" "${LDFLAGS[@]}" -T "$src_dir/$script" -o "$work/$name.elf" "${objects[@]}"
	mv -f "$work/$name.elf" "$output"
	printf '%s\n' "$hash" >"$stamp"
	rm -rf "$work"
	trap - EXIT
	echo "build.sh: built $output"
}

exec 9>"$out_dir/.lock"
flock 9
for name in serial-echo zeropage pvh-info smp lifecycle; do
	build_guest "$name"
done
