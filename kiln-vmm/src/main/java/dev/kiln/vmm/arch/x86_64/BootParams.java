package dev.kiln.vmm.arch.x86_64;

import dev.kiln.vmm.memory.GuestMemory;
import java.util.List;

/**
 * Builds Linux's {@code struct boot_params}, the "zero page" (Documentation/arch/x86/zero-page.rst
 * and boot.rst), for the 64-bit boot protocol. Offsets are those of arch/x86/include/uapi/asm/
 * bootparam.h.
 */
public final class BootParams {
  /** Size of {@code struct boot_params}. */
  public static final int SIZE = 4096;

  /** {@code acpi_rsdp_addr}, read by kernels of boot protocol 2.14 and later. */
  static final int ACPI_RSDP_ADDR = 0x070;

  static final int E820_ENTRIES = 0x1e8;
  static final int HDR = 0x1f1;
  static final int BOOT_FLAG = 0x1fe;
  static final int HEADER = 0x202;
  static final int VERSION = 0x206;
  static final int TYPE_OF_LOADER = 0x210;
  static final int LOADFLAGS = 0x211;
  static final int RAMDISK_IMAGE = 0x218;
  static final int RAMDISK_SIZE = 0x21c;
  static final int CMD_LINE_PTR = 0x228;
  static final int KERNEL_ALIGNMENT = 0x230;
  static final int CMDLINE_SIZE = 0x238;
  static final int SETUP_DATA = 0x250;
  static final int E820_TABLE = 0x2d0;

  /** Entries that fit in {@code boot_params.e820_table}: {@code E820_MAX_ENTRIES_ZEROPAGE}. */
  static final int E820_MAX_ENTRIES = 128;

  /** {@code boot_flag}: the boot sector signature. */
  public static final int BOOT_FLAG_MAGIC = 0xaa55;

  /** {@code header}: "HdrS" in little-endian order. */
  public static final int HEADER_MAGIC = 0x53726448;

  /** {@code type_of_loader}: 0xff, a loader without an assigned id. */
  public static final int LOADER_TYPE_UNDEFINED = 0xff;

  /** {@code setup_data.type} of a random seed for the kernel's RNG. */
  public static final int SETUP_RNG_SEED = 9;

  /** The boot protocol version Kiln claims for an ELF kernel, which has no header of its own. */
  static final int ELF_PROTOCOL_VERSION = 0x020f;

  /** {@code kernel_alignment} Kiln reports for an ELF kernel: 16 MiB, as x86_64 kernels use. */
  static final int ELF_KERNEL_ALIGNMENT = 0x0100_0000;

  private BootParams() {}

  /**
   * Writes the zero page at {@link Layout#ZERO_PAGE_START}.
   *
   * @param setupHeader the bzImage's setup header bytes from offset 0x1f1, or null for an ELF
   *     kernel, in which case Kiln fills the fields a loader must
   * @param cmdlineLength the command line's length in bytes, without the terminating NUL
   * @param initrdAddress the initrd's guest-physical address, or 0 for none
   * @param initrdSize the initrd's size in bytes
   * @param setupData the guest-physical address of the first {@code struct setup_data}, or 0
   * @param rsdpAddress the ACPI RSDP's guest-physical address, or 0 for none
   * @param memoryMap the e820 entries; at most 128
   */
  public static void write(
      GuestMemory memory,
      byte[] setupHeader,
      int cmdlineLength,
      long initrdAddress,
      long initrdSize,
      long setupData,
      long rsdpAddress,
      List<E820Entry> memoryMap) {
    if (memoryMap.size() > E820_MAX_ENTRIES) {
      throw new IllegalArgumentException(
          "too many e820 entries: " + memoryMap.size() + "; the zero page has room for 128");
    }
    long base = Layout.ZERO_PAGE_START;
    memory.zero(base, SIZE);
    if (setupHeader != null) {
      memory.write(base + HDR, setupHeader);
    } else {
      memory.writeU16(base + BOOT_FLAG, BOOT_FLAG_MAGIC);
      memory.writeU32(base + HEADER, HEADER_MAGIC);
      memory.writeU16(base + VERSION, ELF_PROTOCOL_VERSION);
      memory.writeU32(base + KERNEL_ALIGNMENT, ELF_KERNEL_ALIGNMENT);
      memory.writeU32(base + CMDLINE_SIZE, Layout.CMDLINE_MAX_SIZE - 1);
    }
    memory.writeU8(base + TYPE_OF_LOADER, LOADER_TYPE_UNDEFINED);
    memory.writeU32(base + CMD_LINE_PTR, (int) Layout.CMDLINE_START);
    if (initrdSize > 0) {
      memory.writeU32(base + RAMDISK_IMAGE, (int) initrdAddress);
      memory.writeU32(base + RAMDISK_SIZE, (int) initrdSize);
    }
    memory.writeU64(base + SETUP_DATA, setupData);
    memory.writeU64(base + ACPI_RSDP_ADDR, rsdpAddress);
    memory.writeU8(base + E820_ENTRIES, memoryMap.size());
    for (int i = 0; i < memoryMap.size(); i++) {
      E820Entry entry = memoryMap.get(i);
      long at = base + E820_TABLE + 20L * i;
      memory.writeU64(at, entry.address());
      memory.writeU64(at + 8, entry.size());
      memory.writeU32(at + 16, entry.type());
    }
  }

  /**
   * Writes a {@code struct setup_data} of type {@link #SETUP_RNG_SEED} at {@code address} and
   * returns its total size: next (u64, 0 ends the list), type (u32), len (u32), then the seed.
   */
  public static int writeRngSeed(GuestMemory memory, long address, byte[] seed) {
    memory.writeU64(address, 0);
    memory.writeU32(address + 8, SETUP_RNG_SEED);
    memory.writeU32(address + 12, seed.length);
    memory.write(address + 16, seed);
    return 16 + seed.length;
  }
}
