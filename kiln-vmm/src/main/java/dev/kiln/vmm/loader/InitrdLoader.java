package dev.kiln.vmm.loader;

import dev.kiln.vmm.arch.x86_64.Layout;
import dev.kiln.vmm.memory.GuestMemory;
import java.nio.file.Path;

/**
 * Copies an initial RAM disk into guest memory, page aligned and as high as it fits below the
 * device window, which keeps it clear of the kernel loaded near the bottom of RAM.
 */
public final class InitrdLoader {
  /** The configuration field that names the initrd, for the fix in error messages. */
  static final String INITRD_SETTING = "initrd_path";

  /** The initrd starts on a page boundary: the x86 page size, 4 KiB. */
  static final long PAGE_SIZE = 4096;

  private InitrdLoader() {}

  /**
   * Loads the initrd at {@code initrd} into {@code memory}, page aligned and ending as close as it
   * can to the end of RAM below the device window. For a bzImage it must also end at or below the
   * kernel's {@code initrd_addr_max}. It never overlaps the kernel's {@link LoadedKernel#loadEnd}.
   *
   * @param kernel the kernel already loaded into {@code memory}
   * @throws KernelImageException when the file is missing, unreadable or empty, or does not fit
   *     between the kernel and the highest address allowed
   */
  public static Initrd load(Path initrd, GuestMemory memory, LoadedKernel kernel)
      throws KernelImageException {
    try (ImageFile file = ImageFile.open(initrd, "initrd", INITRD_SETTING)) {
      long size = file.size();
      if (size == 0) {
        throw file.error(
            "is empty; pass a cpio archive, or leave %s out to boot without an initrd"
                .formatted(INITRD_SETTING));
      }

      long limit = Layout.lowMemoryEnd(memory.size());
      String limitSource = "RAM below the device window ends";
      SetupHeader header = kernel.setupHeader();
      // initrd_addr_max is the highest byte the initrd may use, so the end may be one past it.
      if (header != null && header.initrdAddrMax() + 1 < limit) {
        limit = header.initrdAddrMax() + 1;
        limitSource = "the kernel's initrd_addr_max allows it to end";
      }

      long address = alignDown(limit - size, PAGE_SIZE);
      if (size > limit || address < kernel.loadEnd() || !memory.contains(address, size)) {
        throw file.error(
            ("(%d bytes) does not fit in guest memory above the kernel: the kernel ends at %s and"
                    + " %s at %s; raise mem_size_mib or use a smaller initrd")
                .formatted(size, Unsigned.hex(kernel.loadEnd()), limitSource, Unsigned.hex(limit)));
      }

      file.copyTo(memory, address, 0, size, "the initrd");
      return new Initrd(address, size);
    }
  }

  private static long alignDown(long value, long alignment) {
    return value & -alignment;
  }
}
