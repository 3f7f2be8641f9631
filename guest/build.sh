#!/usr/bin/env bash
# Build Kiln's default guest from Debian packages: a small Linux kernel
# (ELF vmlinux and bzImage), a busybox initramfs, and an ext4 root file
# system with the same files.
#
# Inputs: linux-source-6.1, busybox-static, guest/linux/microvm-x86_64.config,
# guest/linux/patches/*.patch, guest/initramfs/init, guest/tools/kiln-vsock.c
# and this script.
# Outputs: $KILN_CACHE/guest/{vmlinux,bzImage,initramfs.cpio.gz,rootfs.ext4,key}, where
# key contains the SHA-256 of all inputs. A run whose inputs match the key does
# nothing. See guest/README.md.
set -euo pipefail

GUEST_SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly GUEST_SRC_DIR
readonly SELF="$GUEST_SRC_DIR/build.sh"
readonly FRAGMENT="$GUEST_SRC_DIR/linux/microvm-x86_64.config"
readonly PATCH_DIR="$GUEST_SRC_DIR/linux/patches"
readonly INIT_SCRIPT="$GUEST_SRC_DIR/initramfs/init"
readonly VSOCK_TOOL_SOURCE="$GUEST_SRC_DIR/tools/kiln-vsock.c"

readonly KILN_CACHE="${KILN_CACHE:-$HOME/.cache/kiln}"
readonly OUT_DIR="$KILN_CACHE/guest"
readonly BUILD_ROOT="$KILN_CACHE/guest-build"
readonly LOCK_FILE="$KILN_CACHE/guest.lock"

readonly LINUX_PACKAGE=linux-source-6.1
readonly LINUX_TARBALL=/usr/src/linux-source-6.1.tar.xz
readonly BUSYBOX_PACKAGE=busybox-static
readonly BUSYBOX=/bin/busybox
# Everything the build runs. libelf-dev is for objtool, flex and bison for
# Kconfig, bc for kernel/time/timeconst.bc, and cpio lists the initramfs
# in the check after it is built.
readonly PACKAGES=(
	"$LINUX_PACKAGE" "$BUSYBOX_PACKAGE" build-essential bc bison flex
	libelf-dev cpio xz-utils gzip patch e2fsprogs
)

# Seconds between progress lines while the kernel compiles.
readonly PROGRESS_INTERVAL=20

usage() {
	cat <<EOF
Usage: guest/build.sh [--force] [--print-dir]

Builds Kiln's default guest kernel and initramfs into
\$KILN_CACHE/guest (now: $OUT_DIR). KILN_CACHE defaults to ~/.cache/kiln.

  --force      rebuild the kernel and initramfs even if the outputs match
               the inputs
  --print-dir  print the guest output directory and exit without building
  -h, --help   show this help
EOF
}

log() { printf 'guest: %s\n' "$*"; }
die() {
	printf 'guest: error: %s\n' "$*" >&2
	exit 1
}

now() { date +%s; }
elapsed_since() {
	local seconds=$(($(now) - $1))
	printf '%dm%02ds' $((seconds / 60)) $((seconds % 60))
}

# Prints the packages from the arguments that dpkg does not list as installed.
missing_packages() {
	local package status
	for package in "$@"; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
		[[ $status == installed ]] || printf '%s\n' "$package"
	done
}

install_packages() {
	local missing
	mapfile -t missing < <(missing_packages "${PACKAGES[@]}")
	((${#missing[@]} == 0)) && return 0
	if ((EUID != 0)); then
		die "missing Debian packages: ${missing[*]}. Install them as root with: apt-get install --no-install-recommends ${missing[*]}"
	fi
	log "installing Debian packages: ${missing[*]}"
	local apt_log="$KILN_CACHE/guest-apt.log"
	# Wait for a dpkg lock held by another apt run instead of failing at once.
	if ! {
		apt-get update &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
				-o DPkg::Lock::Timeout=300 "${missing[@]}"
	} >"$apt_log" 2>&1; then
		tail -n 50 "$apt_log" >&2
		die "installing ${missing[*]} failed. The full apt output is in $apt_log"
	fi
}

package_version() {
	dpkg-query -W -f='${Version}' "$1"
}

# Prints the SHA-256 of the kernel's inputs: the source package version,
# the config fragment, the patches and this script.
kernel_key() {
	{
		printf 'linux-source %s\n' "$(package_version "$LINUX_PACKAGE")"
		sha256sum "$SELF" "$FRAGMENT"
		find "$PATCH_DIR" -maxdepth 1 -name '*.patch' -type f -print0 | sort -z | xargs -0r sha256sum
	} | sed "s|$GUEST_SRC_DIR/||" | sha256sum | cut -d' ' -f1
}

# Prints the SHA-256 of the initramfs's inputs: the busybox and C library
# versions, the init script, the vsock test program and this script.
initramfs_key() {
	{
		printf 'busybox-static %s\n' "$(package_version "$BUSYBOX_PACKAGE")"
		printf 'libc6-dev %s\n' "$(package_version libc6-dev)"
		sha256sum "$SELF" "$INIT_SCRIPT" "$VSOCK_TOOL_SOURCE"
	} | sed "s|$GUEST_SRC_DIR/||" | sha256sum | cut -d' ' -f1
}

outputs_current() {
	local key=$1 file
	[[ -f $OUT_DIR/key && $(<"$OUT_DIR/key") == "$key" ]] || return 1
	for file in vmlinux bzImage initramfs.cpio.gz rootfs.ext4; do
		[[ -s $OUT_DIR/$file ]] || return 1
	done
}

# Runs a command with its output appended to a log file. On failure, prints
# the last 50 lines of the log and exits.
run_logged() {
	local log_file=$1 what=$2
	shift 2
	if ! "$@" >>"$log_file" 2>&1; then
		tail -n 50 "$log_file" >&2
		die "$what failed. The full log is $log_file"
	fi
}

# Extracts the kernel source and applies Kiln's patches. The .extracted
# marker makes a rerun after a failed compile reuse the tree.
prepare_kernel_source() {
	local kernel_dir=$1 log_file=$2 patch
	[[ -f $kernel_dir/.extracted ]] && return 0
	log "unpacking $LINUX_TARBALL"
	rm -rf "$kernel_dir"
	mkdir -p "$kernel_dir"
	run_logged "$log_file" "unpacking $LINUX_TARBALL" \
		tar -xJf "$LINUX_TARBALL" -C "$kernel_dir" --strip-components=1
	for patch in "$PATCH_DIR"/*.patch; do
		[[ -e $patch ]] || continue
		log "applying patch ${patch#"$GUEST_SRC_DIR"/}"
		run_logged "$log_file" "applying $patch" \
			patch -d "$kernel_dir" -p1 --forward --batch -i "$patch"
	done
	touch "$kernel_dir/.extracted"
}

# Fails, naming each option, if .config lacks a value that the fragment
# requests. "# CONFIG_X is not set" is also met when CONFIG_X is absent.
check_kernel_config() {
	local config=$1 line symbol
	local -A actual=()
	local -a mismatches=()
	while IFS= read -r line; do
		if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)= ]]; then
			actual[${BASH_REMATCH[1]}]=$line
		fi
	done <"$config"
	while IFS= read -r line; do
		if [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
			symbol=${BASH_REMATCH[1]}
			if [[ -n ${actual[$symbol]:-} ]]; then
				mismatches+=("$symbol: requested not set, got ${actual[$symbol]}")
			fi
		elif [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)= ]]; then
			symbol=${BASH_REMATCH[1]}
			if [[ ${actual[$symbol]:-} != "$line" ]]; then
				mismatches+=("$symbol: requested $line, got ${actual[$symbol]:-not set}")
			fi
		fi
	done <"$FRAGMENT"
	if ((${#mismatches[@]} > 0)); then
		printf 'guest: error: Kconfig did not keep %s:\n' "${FRAGMENT#"$GUEST_SRC_DIR"/}" >&2
		printf '  %s\n' "${mismatches[@]}" >&2
		die "${#mismatches[@]} option(s) of the fragment did not reach .config, because of an unmet dependency or a select by another option. Fix the fragment"
	fi
}

configure_kernel() {
	local kernel_dir=$1 log_file=$2
	log "configuring the kernel: tinyconfig + ${FRAGMENT#"$GUEST_SRC_DIR"/}"
	run_logged "$log_file" "make tinyconfig" make -C "$kernel_dir" ARCH=x86_64 tinyconfig
	run_logged "$log_file" "merging the config fragment" \
		env -C "$kernel_dir" scripts/kconfig/merge_config.sh -m .config "$FRAGMENT"
	run_logged "$log_file" "make olddefconfig" make -C "$kernel_dir" ARCH=x86_64 olddefconfig
	check_kernel_config "$kernel_dir/.config"
}

# Prints one progress line from the make output after line log_start.
# expected_steps, the step count of the last successful build or 0, turns
# the count into an estimated percentage.
print_compile_progress() {
	local log_file=$1 log_start=$2 start=$3 expected_steps=$4
	local steps last percent=""
	steps=$(tail -n +"$((log_start + 1))" "$log_file" | grep -c '^  [A-Z]' || true)
	last=$(tail -n +"$((log_start + 1))" "$log_file" | grep '^  [A-Z]' | tail -n 1 | awk '{print $NF}' || true)
	if ((expected_steps > 0)); then
		percent=$((steps * 100 / expected_steps))
		((percent > 99)) && percent=99
		percent=" (about $percent%)"
	fi
	log "  kernel: $(elapsed_since "$start"), $steps build steps$percent, last: ${last:-none}"
}

# Runs the kernel compile in the background and prints a progress line every
# PROGRESS_INTERVAL seconds. Build steps are the make output lines such as
# "  CC      kernel/fork.o".
compile_kernel() {
	local kernel_dir=$1 log_file=$2
	local steps_file="$BUILD_ROOT/kernel-steps" expected_steps=0
	[[ -f $steps_file ]] && expected_steps=$(<"$steps_file")

	log "compiling the kernel with make -j$(nproc) (output in $log_file)"
	local start log_start
	start=$(now)
	log_start=$(wc -l <"$log_file")
	KBUILD_BUILD_USER=kiln KBUILD_BUILD_HOST=kiln \
		make -C "$kernel_dir" ARCH=x86_64 -j"$(nproc)" vmlinux bzImage >>"$log_file" 2>&1 &
	MAKE_PID=$!

	local next_report=$((start + PROGRESS_INTERVAL))
	while kill -0 "$MAKE_PID" 2>/dev/null; do
		sleep 1
		if (($(now) >= next_report)); then
			next_report=$((next_report + PROGRESS_INTERVAL))
			print_compile_progress "$log_file" "$log_start" "$start" "$expected_steps"
		fi
	done

	local status=0
	wait "$MAKE_PID" || status=$?
	MAKE_PID=""
	if ((status != 0)); then
		tail -n 50 "$log_file" >&2
		die "kernel compile failed with make exit status $status. The full log is $log_file"
	fi
	tail -n +"$((log_start + 1))" "$log_file" | grep -c '^  [A-Z]' >"$steps_file" || true
	log "kernel compiled in $(elapsed_since "$start")"
}

build_kernel() {
	local kernel_dir=$1
	local log_file="$kernel_dir.log"
	mkdir -p "$BUILD_ROOT"
	prepare_kernel_source "$kernel_dir" "$log_file"
	if [[ ! -f $kernel_dir/.configured ]]; then
		configure_kernel "$kernel_dir" "$log_file"
		touch "$kernel_dir/.configured"
	fi
	if [[ ! -f $kernel_dir/.compiled ]]; then
		compile_kernel "$kernel_dir" "$log_file"
		touch "$kernel_dir/.compiled"
	fi
	check_kernel_images "$kernel_dir"
}

# Checks the two properties of the images that a monitor relies on.
check_kernel_images() {
	local kernel_dir=$1
	# XEN_ELFNOTE_PHYS32_ENTRY is note type 18 (0x12) with owner "Xen", which
	# readelf (binutils 2.40) prints as "Unknown note type: (0x00000012)".
	# The output is stored first, because grep -q could stop reading early
	# and fail the pipeline with SIGPIPE.
	local notes
	notes=$(readelf -n "$kernel_dir/vmlinux")
	if ! grep -Eq '^ *Xen .*0x00000012' <<<"$notes"; then
		die "$kernel_dir/vmlinux has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY). Check that the fragment sets CONFIG_PVH=y"
	fi
	# The x86 boot protocol puts the magic "HdrS" at offset 0x202.
	local magic
	magic=$(dd if="$kernel_dir/arch/x86/boot/bzImage" bs=1 skip=$((0x202)) count=4 status=none)
	[[ $magic == HdrS ]] || die "$kernel_dir/arch/x86/boot/bzImage has no HdrS boot header at offset 0x202"
}

# Writes the gen_init_cpio file list: directories, /dev/console (the kernel
# opens it for PID 1 before /init can mount devtmpfs), busybox and one
# symlink per applet at the path busybox gives for it.
initramfs_file_list() {
	local initramfs_dir=$1 path
	cat <<EOF
dir /bin 0755 0 0
dir /sbin 0755 0 0
dir /usr 0755 0 0
dir /usr/bin 0755 0 0
dir /usr/sbin 0755 0 0
dir /dev 0755 0 0
dir /proc 0755 0 0
dir /sys 0755 0 0
dir /tmp 1777 0 0
dir /root 0700 0 0
nod /dev/console 0600 0 0 c 5 1
nod /dev/null 0666 0 0 c 1 3
file /bin/busybox $BUSYBOX 0755 0 0
file /init $INIT_SCRIPT 0755 0 0
file /bin/kiln-vsock $initramfs_dir/kiln-vsock 0755 0 0
EOF
	"$BUSYBOX" --list-full | sort | while IFS= read -r path; do
		[[ $path == bin/busybox ]] && continue
		printf 'slink /%s /bin/busybox 0777 0 0\n' "$path"
	done
}

# Writes initramfs.cpio.gz from files.txt. Directories, links and device
# nodes get mtime 0, and gzip stores no name or time. Regular files keep
# their own mtimes.
write_compressed_cpio() {
	local initramfs_dir=$1
	"$initramfs_dir/gen_init_cpio" -t 0 "$initramfs_dir/files.txt" |
		gzip -9 -n >"$initramfs_dir/initramfs.cpio.gz"
}

# Writes rootfs.ext4, a 32 MiB ext4 image with the same files as the
# initramfs and the init script as /sbin/init, for guests whose root is a
# virtio block device. mkfs.ext4 -d copies a staging tree into the image;
# the device nodes are made there with mknod, so this step needs root.
build_rootfs() {
	local initramfs_dir=$1 stage="$initramfs_dir/rootfs"
	local path
	rm -rf "$stage"
	mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root}
	chmod 1777 "$stage/tmp"
	chmod 0700 "$stage/root"
	cp "$BUSYBOX" "$stage/bin/busybox"
	cp "$initramfs_dir/kiln-vsock" "$stage/bin/kiln-vsock"
	"$BUSYBOX" --list-full | while IFS= read -r path; do
		[[ $path == bin/busybox ]] && continue
		ln -sf /bin/busybox "$stage/$path"
	done
	rm -f "$stage/sbin/init"
	install -m 0755 "$INIT_SCRIPT" "$stage/sbin/init"
	mknod -m 0600 "$stage/dev/console" c 5 1
	mknod -m 0666 "$stage/dev/null" c 1 3
	rm -f "$initramfs_dir/rootfs.ext4"
	mkfs.ext4 -q -F -L kiln-root -d "$stage" "$initramfs_dir/rootfs.ext4" 32M
}

# Builds initramfs.cpio.gz with the kernel's gen_init_cpio, which sets owners
# and device nodes from the file list, so no root rights are needed.
build_initramfs() {
	local initramfs_dir=$1 kernel_dir=$2
	local log_file="$initramfs_dir.log"
	log "building the initramfs from $BUSYBOX ($BUSYBOX_PACKAGE $(package_version "$BUSYBOX_PACKAGE"))"
	local program_headers
	program_headers=$(readelf -l "$BUSYBOX")
	if grep -q 'INTERP' <<<"$program_headers"; then
		die "$BUSYBOX is dynamically linked, but the initramfs needs the static binary from $BUSYBOX_PACKAGE"
	fi
	rm -rf "$initramfs_dir"
	mkdir -p "$initramfs_dir"
	: >"$log_file"
	run_logged "$log_file" "compiling gen_init_cpio" \
		cc -O2 -o "$initramfs_dir/gen_init_cpio" "$kernel_dir/usr/gen_init_cpio.c"
	run_logged "$log_file" "compiling ${VSOCK_TOOL_SOURCE#"$GUEST_SRC_DIR"/}" \
		cc -static -O2 -Wall -o "$initramfs_dir/kiln-vsock" "$VSOCK_TOOL_SOURCE"
	initramfs_file_list "$initramfs_dir" >"$initramfs_dir/files.txt"
	run_logged "$log_file" "gen_init_cpio" write_compressed_cpio "$initramfs_dir"
	local listing
	run_logged "$log_file" "building rootfs.ext4" build_rootfs "$initramfs_dir"
	listing=$(zcat "$initramfs_dir/initramfs.cpio.gz" | cpio -t --quiet)
	grep -qx init <<<"$listing" || die "the initramfs has no /init"
	grep -qx bin/busybox <<<"$listing" || die "the initramfs has no /bin/busybox"
}

# Copies a file into OUT_DIR under a temporary name, then renames it, so a
# reader never sees a partly written file.
install_output() {
	local source=$1 name=$2
	cp "$source" "$OUT_DIR/.$name.tmp.$$"
	mv -f "$OUT_DIR/.$name.tmp.$$" "$OUT_DIR/$name"
}

# Removes build trees of inputs other than the current ones. A kernel tree
# takes about 1.6 GB.
remove_stale_builds() {
	local keep_kernel=$1 keep_initramfs=$2 entry
	for entry in "$BUILD_ROOT"/linux-* "$BUILD_ROOT"/initramfs-*; do
		[[ -e $entry ]] || continue
		case $entry in
		"$keep_kernel" | "$keep_kernel.log" | "$keep_initramfs" | "$keep_initramfs.log") ;;
		*) rm -rf -- "$entry" ;;
		esac
	done
}

cleanup() {
	if [[ -n ${MAKE_PID:-} ]]; then
		kill "$MAKE_PID" 2>/dev/null || true
		wait "$MAKE_PID" 2>/dev/null || true
	fi
	rm -f "$OUT_DIR"/.*.tmp.$$ 2>/dev/null || true
}

main() {
	local force=0
	while (($# > 0)); do
		case $1 in
		--force) force=1 ;;
		--print-dir)
			printf '%s\n' "$OUT_DIR"
			return 0
			;;
		-h | --help)
			usage
			return 0
			;;
		*)
			usage >&2
			die "unknown option: $1"
			;;
		esac
		shift
	done

	[[ $(uname -m) == x86_64 ]] || die "the guest builds only on an x86_64 host, not $(uname -m)"

	mkdir -p "$KILN_CACHE" "$OUT_DIR"
	MAKE_PID=""
	trap cleanup EXIT
	trap 'exit 130' INT TERM

	# One build at a time per cache. The lock is released when this shell exits.
	exec {lock_fd}>"$LOCK_FILE"
	if ! flock -n "$lock_fd"; then
		log "waiting for another guest build to release $LOCK_FILE"
		flock "$lock_fd"
	fi

	install_packages

	local kernel_hash initramfs_hash key
	kernel_hash=$(kernel_key)
	initramfs_hash=$(initramfs_key)
	key=$(printf '%s\n%s\n' "$kernel_hash" "$initramfs_hash" | sha256sum | cut -d' ' -f1)

	if ((force == 0)) && outputs_current "$key"; then
		log "up to date in $OUT_DIR (key ${key:0:16})"
		return 0
	fi

	local start kernel_dir initramfs_dir
	start=$(now)
	kernel_dir="$BUILD_ROOT/linux-${kernel_hash:0:16}"
	initramfs_dir="$BUILD_ROOT/initramfs-${initramfs_hash:0:16}"
	if ((force == 1)); then
		rm -rf "$kernel_dir" "$kernel_dir.log"
	fi
	log "building the guest (key ${key:0:16}) in $BUILD_ROOT"

	build_kernel "$kernel_dir"
	build_initramfs "$initramfs_dir" "$kernel_dir"

	# Drop the key first and write it last, so a key that matches always
	# describes the files next to it.
	rm -f "$OUT_DIR/key"
	install_output "$kernel_dir/vmlinux" vmlinux
	install_output "$kernel_dir/arch/x86/boot/bzImage" bzImage
	install_output "$initramfs_dir/initramfs.cpio.gz" initramfs.cpio.gz
	install_output "$initramfs_dir/rootfs.ext4" rootfs.ext4
	printf '%s\n' "$key" >"$OUT_DIR/.key.tmp.$$"
	mv -f "$OUT_DIR/.key.tmp.$$" "$OUT_DIR/key"

	remove_stale_builds "$kernel_dir" "$initramfs_dir"

	log "done in $(elapsed_since "$start"):"
	local name
	for name in vmlinux bzImage initramfs.cpio.gz rootfs.ext4; do
		log "  $OUT_DIR/$name ($(stat -c %s "$OUT_DIR/$name") bytes)"
	done
}

main "$@"
