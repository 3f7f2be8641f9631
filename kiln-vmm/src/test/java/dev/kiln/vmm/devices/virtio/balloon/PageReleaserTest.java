package dev.kiln.vmm.devices.virtio.balloon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.sys.SyscallException;
import dev.kiln.sys.Syscalls;
import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.memory.GuestRegion;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Releases pages of guest memory made of two host mappings that sit next to each other in guest
 * addresses, so that a run of page frame numbers can cross from one mapping into the other.
 */
class PageReleaserTest {
  private static final long REGION_BYTES = 1 << 20;
  private static final long REGION_PAGES = REGION_BYTES / VirtioBalloonSpec.PAGE_SIZE;

  private MemorySegment low;
  private MemorySegment high;
  private GuestMemory memory;

  @BeforeEach
  void mapRegions() throws SyscallException {
    low = map();
    high = map();
    memory = new GuestMemory(List.of(new GuestRegion(0, low), new GuestRegion(REGION_BYTES, high)));
  }

  private static MemorySegment map() throws SyscallException {
    return Syscalls.mmap(
        REGION_BYTES,
        Syscalls.PROT_READ | Syscalls.PROT_WRITE,
        Syscalls.MAP_PRIVATE | Syscalls.MAP_ANONYMOUS,
        -1,
        0);
  }

  @AfterEach
  void unmapRegions() throws SyscallException {
    Syscalls.munmap(low);
    Syscalls.munmap(high);
  }

  private void fill(long pfn) {
    memory.slice(pfn << VirtioBalloonSpec.PFN_SHIFT, VirtioBalloonSpec.PAGE_SIZE).fill((byte) 9);
  }

  private byte firstByte(long pfn) {
    return memory.readU8(pfn << VirtioBalloonSpec.PFN_SHIFT);
  }

  @Test
  void runAcrossRegionsReleasesBoth() {
    long last = REGION_PAGES - 1;
    fill(last);
    fill(last + 1);
    PageReleaser releaser = new PageReleaser(memory);

    assertThat(releaser.add(last)).isTrue();
    assertThat(releaser.add(last + 1)).isTrue();
    releaser.finish();

    assertThat(releaser.releasedPages()).isEqualTo(2);
    assertThat(releaser.failedPages()).isZero();
    assertThat(firstByte(last)).isZero();
    assertThat(firstByte(last + 1)).isZero();
  }

  @Test
  void pageOutsideRamSkipped() {
    PageReleaser releaser = new PageReleaser(memory);

    assertThat(releaser.add(2 * REGION_PAGES)).isFalse();
    releaser.finish();

    assertThat(releaser.skippedPages()).isEqualTo(1);
    assertThat(releaser.releasedPages()).isZero();
  }

  @Test
  void unorderedPagesAllReleased() {
    long[] pfns = {5, 3, 4, 4, 100};
    for (long pfn : pfns) {
      fill(pfn);
    }
    PageReleaser releaser = new PageReleaser(memory);

    for (long pfn : pfns) {
      releaser.add(pfn);
    }
    releaser.finish();

    for (long pfn : pfns) {
      assertThat(firstByte(pfn)).as("page %d", pfn).isZero();
    }
    assertThat(releaser.releasedPages()).isEqualTo(pfns.length);
  }
}
