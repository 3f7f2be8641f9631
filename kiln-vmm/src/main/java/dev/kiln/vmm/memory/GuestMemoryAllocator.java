package dev.kiln.vmm.memory;

import dev.kiln.sys.SyscallException;
import dev.kiln.sys.Syscalls;
import dev.kiln.vmm.arch.x86_64.Layout;
import dev.kiln.vmm.config.HugePages;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Maps anonymous host memory for guest RAM, split around the x86_64 device window: RAM below {@link
 * Layout#MMIO_START}, and what does not fit there from 4 GiB up. Regular pages are reserved lazily
 * ({@code MAP_NORESERVE}), so the host commits only what the guest touches; 2 MiB huge pages are
 * reserved when mapped.
 */
public final class GuestMemoryAllocator {
  /** {@code madvise} advice asking for transparent huge pages (asm-generic/mman-common.h). */
  static final int MADV_HUGEPAGE = 14;

  private GuestMemoryAllocator() {}

  /**
   * Maps {@code sizeBytes} of guest RAM.
   *
   * @throws SyscallException when the host refuses the mapping, such as with no 2 MiB pages free
   */
  public static GuestMemory allocate(long sizeBytes, HugePages hugePages) throws SyscallException {
    List<GuestRegion> regions = new ArrayList<>();
    long low = Layout.lowMemoryEnd(sizeBytes);
    regions.add(new GuestRegion(0, map(low, hugePages)));
    if (sizeBytes > low) {
      regions.add(new GuestRegion(Layout.FIRST_ADDR_PAST_32BITS, map(sizeBytes - low, hugePages)));
    }
    return new GuestMemory(regions);
  }

  private static MemorySegment map(long size, HugePages hugePages) throws SyscallException {
    int flags = Syscalls.MAP_PRIVATE | Syscalls.MAP_ANONYMOUS;
    if (hugePages == HugePages.HUGE_2M) {
      // Without MAP_NORESERVE the kernel reserves the huge pages now, so a host without enough
      // of them fails here with ENOMEM instead of a SIGBUS when the guest touches memory.
      flags |= Syscalls.MAP_HUGETLB | Syscalls.MAP_HUGE_2MB;
    } else {
      flags |= Syscalls.MAP_NORESERVE;
    }
    MemorySegment mapping =
        Syscalls.mmap(size, Syscalls.PROT_READ | Syscalls.PROT_WRITE, flags, -1, 0);
    if (hugePages == HugePages.TRANSPARENT) {
      Syscalls.madvise(mapping, MADV_HUGEPAGE);
    }
    return mapping;
  }

  /** Unmaps guest RAM; the memory must not be used afterwards. */
  public static void release(GuestMemory memory) throws SyscallException {
    for (GuestRegion region : memory.regions()) {
      Syscalls.munmap(region.host());
    }
  }
}
