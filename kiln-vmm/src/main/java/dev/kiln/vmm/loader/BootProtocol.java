package dev.kiln.vmm.loader;

/** The way the boot vCPU enters a loaded kernel, which decides its registers and boot tables. */
public enum BootProtocol {
  /**
   * The Linux 64-bit boot protocol ("64-bit Boot Protocol" in the Linux x86 boot.rst): the vCPU
   * starts in long mode with paging on, at the entry address, with RSI holding the guest-physical
   * address of {@code struct boot_params} (the zero page).
   */
  LINUX_64,

  /**
   * The Xen PVH boot ABI: the vCPU starts in 32-bit protected mode with paging off, at the address
   * from the kernel's {@code XEN_ELFNOTE_PHYS32_ENTRY} note, with EBX holding the guest-physical
   * address of {@code struct hvm_start_info}.
   */
  PVH
}
