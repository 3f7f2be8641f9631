#!/usr/bin/env bash
# Boots the default guest with a Firecracker config file; the guest prints its banner on the
# serial console (this terminal) and resets, which ends Kiln with status 0.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache="${KILN_CACHE:-$HOME/.cache/kiln}"
config="$cache/default-vm.json"
mkdir -p "$cache"
cat > "$config" <<JSON
{
  "boot-source": {
    "kernel_image_path": "$cache/guest/bzImage",
    "initrd_path": "$cache/guest/initramfs.cpio.gz",
    "boot_args": "console=ttyS0 reboot=k panic=1 pci=off"
  },
  "machine-config": {
    "vcpu_count": 1,
    "mem_size_mib": 256
  }
}
JSON
echo "==> Booting the default guest ($config); a boot takes about a minute on nested KVM"
exec "$top/kiln" --no-api --config-file "$config"
