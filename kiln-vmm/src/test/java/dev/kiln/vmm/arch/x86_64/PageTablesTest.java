package dev.kiln.vmm.arch.x86_64;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.memory.GuestRegion;
import java.lang.foreign.Arena;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Checks the boot identity mapping by walking it as 4-level paging does. */
class PageTablesTest {
  private static final long PML4 = 0x9000;
  private static final long PDPT = 0xa000;
  private static final long PD = 0xb000;
  private static final long PRESENT = 1;
  private static final long WRITABLE = 2;
  private static final long PAGE_SIZE = 0x80;
  private static final long ADDRESS_MASK = 0x000f_ffff_ffff_f000L;
  private static final long TWO_MIB = 2L << 20;
  private static final long GIB = 1L << 30;

  private final GuestMemory memory =
      new GuestMemory(List.of(new GuestRegion(0, Arena.ofAuto().allocate(0x10000, 4096))));

  @BeforeEach
  void writeOverStaleBytes() {
    memory.slice(PML4, 0x3000).fill((byte) 0xee);
    PageTables.write(memory);
  }

  /** Translates a linear address as the CPU does, or returns -1 when a level is not present. */
  private long translate(long linear) {
    long pml4e = memory.readU64(PML4 + 8 * ((linear >>> 39) & 0x1ff));
    if ((pml4e & PRESENT) == 0) {
      return -1;
    }
    long pdpte = memory.readU64((pml4e & ADDRESS_MASK) + 8 * ((linear >>> 30) & 0x1ff));
    if ((pdpte & PRESENT) == 0) {
      return -1;
    }
    long pde = memory.readU64((pdpte & ADDRESS_MASK) + 8 * ((linear >>> 21) & 0x1ff));
    if ((pde & PRESENT) == 0 || (pde & PAGE_SIZE) == 0) {
      return -1;
    }
    return (pde & ADDRESS_MASK & ~(TWO_MIB - 1)) | (linear & (TWO_MIB - 1));
  }

  @Test
  void pml4PointsAtPdpt() {
    assertThat(memory.readU64(PML4)).isEqualTo(PDPT | PRESENT | WRITABLE);
  }

  @Test
  void pdptPointsAtPageDirectory() {
    assertThat(memory.readU64(PDPT)).isEqualTo(PD | PRESENT | WRITABLE);
  }

  @Test
  void otherUpperEntriesNotPresent() {
    for (int i = 1; i < 512; i++) {
      assertThat(memory.readU64(PML4 + 8L * i)).as("PML4 entry %d", i).isZero();
      assertThat(memory.readU64(PDPT + 8L * i)).as("PDPT entry %d", i).isZero();
    }
  }

  @Test
  void pageDirectoryMaps2MibPages() {
    for (int i = 0; i < 512; i++) {
      assertThat(memory.readU64(PD + 8L * i))
          .as("page directory entry %d", i)
          .isEqualTo(i * TWO_MIB | PRESENT | WRITABLE | PAGE_SIZE);
    }
  }

  @Test
  void pageTablesIdentityMapFirstGib() {
    long[] addresses = {0, 0x1000, 0x7000, TWO_MIB - 1, TWO_MIB, 0x0100_0000, GIB - 1};

    for (long address : addresses) {
      assertThat(translate(address)).as("translation of %#x", address).isEqualTo(address);
    }
  }

  @Test
  void pageTablesLeaveAboveGibUnmapped() {
    assertThat(translate(GIB)).isEqualTo(-1);
  }
}
