#!/usr/bin/env bash
# Boots the default guest from its ext4 root file system on a virtio block device, with the
# entropy device, through a Firecracker config file. The guest prints its banner on the serial
# console (this terminal) and resets, which ends Kiln with status 0. The root file system is a
# fresh copy of the built image each time, so the image itself stays clean.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache="${KILN_CACHE:-$HOME/.cache/kiln}"
config="$cache/default-vm.json"
rootfs="$cache/default-rootfs.ext4"
mkdir -p "$cache"
cp "$cache/guest/rootfs.ext4" "$rootfs"
cat > "$config" <<JSON
{
  "boot-source": {
    "kernel_image_path": "$cache/guest/bzImage",
    "boot_args": "console=ttyS0 reboot=k panic=1 pci=off"
  },
  "drives": [
    {"drive_id": "rootfs", "path_on_host": "$rootfs", "is_root_device": true, "is_read_only": false}
  ],
  "entropy": {},
  "machine-config": {
    "vcpu_count": 1,
    "mem_size_mib": 256
  }
}
JSON
echo "==> Booting the default guest from $rootfs ($config); a boot takes about a minute on nested KVM"
exec "$top/kiln" --no-api --config-file "$config"
