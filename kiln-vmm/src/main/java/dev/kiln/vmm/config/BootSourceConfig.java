package dev.kiln.vmm.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The {@code boot-source} section: Firecracker's {@code BootSource} definition.
 *
 * @param kernelImagePath the kernel: an ELF vmlinux (Linux 64-bit boot or PVH) or a bzImage
 * @param bootArgs the kernel command line; null for Kiln's default
 * @param initrdPath an initial RAM disk, or null
 */
public record BootSourceConfig(
    @JsonProperty("kernel_image_path") String kernelImagePath,
    @JsonProperty("boot_args") String bootArgs,
    @JsonProperty("initrd_path") String initrdPath) {

  /**
   * The command line used when {@code boot_args} is absent: Firecracker's default. It sends the
   * console to the serial port, resets through the keyboard controller so that a guest reboot ends
   * the VM, reboots one second after a panic, and skips PCI, the serial ports and the i8042's
   * probes.
   */
  public static final String DEFAULT_KERNEL_CMDLINE =
      "reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux i8042.nopnp"
          + " i8042.dumbkbd";
}
