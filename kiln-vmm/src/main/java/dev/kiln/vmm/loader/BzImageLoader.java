package dev.kiln.vmm.loader;

import dev.kiln.vmm.arch.x86_64.Layout;
import dev.kiln.vmm.memory.GuestMemory;

/**
 * Loads a bzImage for the Linux 64-bit boot protocol (boot.rst, "64-bit Boot Protocol"): the
 * protected-mode kernel after the setup sectors is copied to 1 MiB and entered 0x200 bytes in. The
 * real-mode setup code is not loaded, because the 64-bit entry skips it.
 */
final class BzImageLoader {
  /** Offset of {@code syssize} in the file (Documentation/arch/x86/boot.rst). */
  static final int SYSSIZE_OFFSET = 0x1f4;

  /** Offset of the 64-bit entry point from the start of the loaded protected-mode kernel. */
  static final long STARTUP_64_OFFSET = 0x200;

  private BzImageLoader() {}

  /**
   * Loads the bzImage in {@code file} into {@code memory} at {@link Layout#HIMEM_START}.
   *
   * @throws KernelImageException when the setup header is rejected, the file is truncated, or the
   *     kernel and its {@code init_size} do not fit in RAM below the device window
   */
  static LoadedKernel load(ImageFile file, GuestMemory memory) throws KernelImageException {
    SetupHeader header = SetupHeader.read(file);
    long payloadOffset = header.payloadOffset();
    if (file.size() <= payloadOffset) {
      throw file.error(
          ("is truncated: the %d setup sectors end at byte %d but the file has %d bytes, so it has"
                  + " no protected-mode kernel")
              .formatted(header.setupSects(), payloadOffset, file.size()));
    }
    long payloadSize = file.size() - payloadOffset;
    // syssize (boot.rst, offset 0x1f4): the protected-mode code's size in 16-byte paragraphs.
    long syssize =
        Integer.toUnsignedLong(
            java.nio.ByteBuffer.wrap(header.rawHeader())
                .order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .getInt(SYSSIZE_OFFSET - SetupHeader.SETUP_HEADER_OFFSET));
    if (payloadSize < syssize * 16) {
      throw file.error(
          ("is truncated: its header gives %d bytes of protected-mode code (syssize) but the file"
                  + " has %d after the setup sectors")
              .formatted(syssize * 16, payloadSize));
    }
    if (header.initSize() == 0) {
      throw file.error("has init_size 0 in its setup header, so its memory needs are unknown");
    }

    long loadStart = Layout.HIMEM_START;
    long lowMemoryEnd = Layout.lowMemoryEnd(memory.size());
    long runStart = runStart(file, header, loadStart);
    if (Long.compareUnsigned(runStart, loadStart) < 0) {
      throw file.error(
          ("is not relocatable and runs at pref_address %s, below %s (1 MiB) where Kiln keeps its"
                  + " boot structures; use a relocatable kernel")
              .formatted(Unsigned.hex(runStart), Unsigned.hex(loadStart)));
    }
    if (Long.compareUnsigned(runStart, lowMemoryEnd) >= 0) {
      throw file.error(
          ("does not fit in guest memory: it runs at %s but RAM below the device window ends at"
                  + " %s; raise mem_size_mib")
              .formatted(Unsigned.hex(runStart), Unsigned.hex(lowMemoryEnd)));
    }
    long loadEnd = Math.max(loadStart + payloadSize, runStart + header.initSize());
    if (loadEnd > lowMemoryEnd || !memory.contains(loadStart, loadEnd - loadStart)) {
      throw file.error(
          ("does not fit in guest memory: it needs %s (a %d-byte payload at %s, and init_size %s"
                  + " bytes from its run address %s) but RAM below the device window ends at %s;"
                  + " raise mem_size_mib")
              .formatted(
                  Unsigned.hexRange(loadStart, loadEnd - loadStart),
                  payloadSize,
                  Unsigned.hex(loadStart),
                  Unsigned.hex(header.initSize()),
                  Unsigned.hex(runStart),
                  Unsigned.hex(lowMemoryEnd)));
    }

    file.copyTo(memory, loadStart, payloadOffset, payloadSize, "the protected-mode kernel");
    return new LoadedKernel(
        BootProtocol.LINUX_64, loadStart + STARTUP_64_OFFSET, loadStart, loadEnd, header);
  }

  /**
   * Returns where the kernel decompresses itself and runs when loaded at {@code loadStart}.
   * boot.rst ("init_size") gives {@code align_up(load address, kernel_alignment)} for a relocatable
   * kernel and {@code pref_address} otherwise. The 64-bit entry code in Linux 6.1
   * (arch/x86/boot/compressed/head_64.S) also never runs a relocatable kernel below its
   * LOAD_PHYSICAL_ADDR, which header.S stores as {@code pref_address}, so a kernel loaded at 1 MiB
   * usually runs at 16 MiB.
   */
  private static long runStart(ImageFile file, SetupHeader header, long loadStart)
      throws KernelImageException {
    if (!header.relocatableKernel()) {
      return header.prefAddress();
    }
    long alignment = header.kernelAlignment();
    if (alignment == 0 || Long.bitCount(alignment) != 1) {
      throw file.error(
          "has kernel_alignment %s, which is not a power of two; the file is damaged"
              .formatted(Unsigned.hex(alignment)));
    }
    long aligned = (loadStart + alignment - 1) & -alignment;
    return Long.compareUnsigned(header.prefAddress(), aligned) > 0 ? header.prefAddress() : aligned;
  }
}
