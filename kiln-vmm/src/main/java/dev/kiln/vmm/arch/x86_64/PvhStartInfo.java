package dev.kiln.vmm.arch.x86_64;

import dev.kiln.vmm.memory.GuestMemory;
import java.util.List;

/**
 * Builds the Xen PVH boot structures (xen/include/public/arch-x86/hvm/start_info.h, version 1): the
 * {@code hvm_start_info} at {@link Layout#PVH_INFO_START}, a module list carrying the initrd, and
 * the memory map.
 */
public final class PvhStartInfo {
  /** {@code XEN_HVM_START_MAGIC_VALUE}. */
  public static final int MAGIC = 0x336ec578;

  /** The structure version Kiln writes; version 1 adds the memory map. */
  public static final int VERSION = 1;

  static final int START_INFO_SIZE = 56;
  static final int MODLIST_ENTRY_SIZE = 32;
  static final int MEMMAP_ENTRY_SIZE = 24;

  private PvhStartInfo() {}

  /**
   * Writes the start info, its module list and memory map.
   *
   * @param initrdAddress the initrd's address, or 0 with {@code initrdSize} 0 for none
   * @param rsdpAddress the ACPI RSDP's guest-physical address, or 0 for none
   * @param memoryMap the memory map entries
   */
  public static void write(
      GuestMemory memory,
      long initrdAddress,
      long initrdSize,
      long rsdpAddress,
      List<E820Entry> memoryMap) {
    long info = Layout.PVH_INFO_START;
    int modules = initrdSize > 0 ? 1 : 0;
    memory.zero(info, START_INFO_SIZE);
    memory.writeU32(info, MAGIC);
    memory.writeU32(info + 4, VERSION);
    memory.writeU32(info + 8, 0); // flags
    memory.writeU32(info + 12, modules);
    memory.writeU64(info + 16, modules > 0 ? Layout.PVH_MODLIST_START : 0);
    memory.writeU64(info + 24, Layout.CMDLINE_START);
    memory.writeU64(info + 32, rsdpAddress);
    memory.writeU64(info + 40, Layout.PVH_MEMMAP_START);
    memory.writeU32(info + 48, memoryMap.size());

    if (modules > 0) {
      long entry = Layout.PVH_MODLIST_START;
      memory.zero(entry, MODLIST_ENTRY_SIZE);
      memory.writeU64(entry, initrdAddress);
      memory.writeU64(entry + 8, initrdSize);
    }
    for (int i = 0; i < memoryMap.size(); i++) {
      E820Entry e = memoryMap.get(i);
      long at = Layout.PVH_MEMMAP_START + (long) MEMMAP_ENTRY_SIZE * i;
      memory.writeU64(at, e.address());
      memory.writeU64(at + 8, e.size());
      memory.writeU32(at + 16, e.type());
      memory.writeU32(at + 20, 0);
    }
  }
}
