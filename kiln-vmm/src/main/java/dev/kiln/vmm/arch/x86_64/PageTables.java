package dev.kiln.vmm.arch.x86_64;

import dev.kiln.vmm.memory.GuestMemory;

/**
 * The identity mapping of the first 1 GiB that the Linux 64-bit boot protocol needs at entry: one
 * PML4 entry, one page-directory-pointer entry and 512 page-directory entries of 2 MiB pages (Intel
 * SDM vol. 3, 4.5).
 */
public final class PageTables {
  static final long PRESENT = 1;
  static final long WRITABLE = 1 << 1;
  static final long PAGE_SIZE_2M = 1 << 7;
  static final long TWO_MIB = 2L << 20;

  private PageTables() {}

  /** Writes the tables; CR3 must then be {@link Layout#PML4_START}. */
  public static void write(GuestMemory memory) {
    memory.zero(Layout.PML4_START, 4096);
    memory.zero(Layout.PDPTE_START, 4096);
    memory.writeU64(Layout.PML4_START, Layout.PDPTE_START | PRESENT | WRITABLE);
    memory.writeU64(Layout.PDPTE_START, Layout.PDE_START | PRESENT | WRITABLE);
    for (int i = 0; i < 512; i++) {
      memory.writeU64(Layout.PDE_START + 8L * i, (i * TWO_MIB) | PRESENT | WRITABLE | PAGE_SIZE_2M);
    }
  }
}
