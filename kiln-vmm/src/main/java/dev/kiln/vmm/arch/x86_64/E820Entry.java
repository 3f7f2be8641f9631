package dev.kiln.vmm.arch.x86_64;

import java.util.ArrayList;
import java.util.List;

/**
 * One entry of the BIOS e820 memory map, as Linux's {@code struct boot_e820_entry} and the PVH
 * {@code hvm_memmap_table_entry} both carry it.
 *
 * @param address the first byte of the range
 * @param size the length in bytes
 * @param type {@link #E820_RAM} or {@link #E820_RESERVED}
 */
public record E820Entry(long address, long size, int type) {
  /** Usable RAM (ACPI 6.5, table 15.1, AddressRangeMemory). */
  public static final int E820_RAM = 1;

  /** Reserved, not to be used by the OS (AddressRangeReserved). */
  public static final int E820_RESERVED = 2;

  /**
   * Returns the memory map of a guest with {@code memorySize} bytes of RAM laid out by {@link
   * Layout}: conventional memory below the BIOS area, the BIOS area reserved (it contains the MP
   * and ACPI tables), RAM from 1 MiB to the device window, and the rest above 4 GiB.
   */
  public static List<E820Entry> memoryMap(long memorySize) {
    List<E820Entry> map = new ArrayList<>();
    map.add(new E820Entry(0, Layout.EBDA_START, E820_RAM));
    map.add(
        new E820Entry(Layout.EBDA_START, Layout.HIMEM_START - Layout.EBDA_START, E820_RESERVED));
    long lowEnd = Layout.lowMemoryEnd(memorySize);
    if (lowEnd > Layout.HIMEM_START) {
      map.add(new E820Entry(Layout.HIMEM_START, lowEnd - Layout.HIMEM_START, E820_RAM));
    }
    if (memorySize > Layout.MMIO_START) {
      map.add(
          new E820Entry(Layout.FIRST_ADDR_PAST_32BITS, memorySize - Layout.MMIO_START, E820_RAM));
    }
    return map;
  }
}
