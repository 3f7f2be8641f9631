package dev.kiln.vmm.loader;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The setup header of a bzImage, the part of {@code struct setup_header} that Kiln reads, as the
 * Linux x86 boot protocol defines it (boot.rst, "The Real-Mode Kernel Header"). Only boot protocol
 * 2.12 and newer is accepted, because 2.12 added {@code xloadflags} and the 64-bit entry flag.
 *
 * @param setupSects the number of 512-byte setup sectors after the boot sector, with a stored 0
 *     already read as 4 as boot.rst requires
 * @param version the boot protocol version, major in the high byte: 0x020c is 2.12
 * @param loadflags the {@code loadflags} bits, with {@link #LOADED_HIGH} set
 * @param initrdAddrMax the highest byte address the initrd may occupy
 * @param kernelAlignment the physical alignment a relocatable kernel needs, in bytes
 * @param relocatableKernel whether the kernel can run at an address other than {@code pref_address}
 * @param xloadflags the {@code xloadflags} bits, with {@link #XLF_KERNEL_64} set
 * @param cmdlineSize the maximum command line length in bytes, without the terminating NUL
 * @param prefAddress the preferred load address, where a non-relocatable kernel always runs
 * @param initSize the bytes of contiguous memory the kernel needs from its run address while it
 *     decompresses and starts
 * @param rawHeader the file bytes from {@link #SETUP_HEADER_OFFSET} to the end of the header, which
 *     the zero page must contain at the same offset
 */
public record SetupHeader(
    int setupSects,
    int version,
    int loadflags,
    long initrdAddrMax,
    long kernelAlignment,
    boolean relocatableKernel,
    int xloadflags,
    long cmdlineSize,
    long prefAddress,
    long initSize,
    byte[] rawHeader) {

  /** Offset of the setup header in the file and in {@code struct boot_params} (zero page). */
  public static final int SETUP_HEADER_OFFSET = 0x1f1;

  /** {@code loadflags} bit 0: the protected-mode code loads at 0x100000. */
  public static final int LOADED_HIGH = 1;

  /** {@code xloadflags} bit 0: the kernel has the 64-bit entry point at 0x200. */
  public static final int XLF_KERNEL_64 = 1;

  /** The oldest boot protocol Kiln accepts, 2.12, the first with {@code xloadflags}. */
  public static final int MIN_VERSION = 0x020c;

  // Offsets of setup header fields in the file (boot.rst).
  static final int SETUP_SECTS = 0x1f1;
  static final int BOOT_FLAG = 0x1fe;
  static final int JUMP = 0x200;
  static final int HEADER = 0x202;
  static final int VERSION = 0x206;
  static final int LOADFLAGS = 0x211;
  static final int INITRD_ADDR_MAX = 0x22c;
  static final int KERNEL_ALIGNMENT = 0x230;
  static final int RELOCATABLE_KERNEL = 0x234;
  static final int XLOADFLAGS = 0x236;
  static final int CMDLINE_SIZE = 0x238;
  static final int PREF_ADDRESS = 0x258;
  static final int INIT_SIZE = 0x260;

  /** {@code boot_flag}, the boot sector signature. */
  static final int BOOT_FLAG_MAGIC = 0xaa55;

  /** {@code header}, "HdrS" read as a little-endian 32-bit value. */
  static final int HEADER_MAGIC = 0x53726448;

  /** The opcode of the short jump at {@link #JUMP}, whose signed offset ends the header. */
  static final int SHORT_JUMP_OPCODE = 0xeb;

  /** A stored {@code setup_sects} of 0 means this many sectors (boot.rst). */
  static final int DEFAULT_SETUP_SECTS = 4;

  /** The boot protocol's sector size, independent of any disk. */
  static final int SECTOR_SIZE = 512;

  /** Copies the raw header, so the record stays immutable. */
  public SetupHeader {
    rawHeader = rawHeader.clone();
  }

  /**
   * Returns a copy of the file bytes from {@link #SETUP_HEADER_OFFSET} to the end of the header.
   */
  @Override
  public byte[] rawHeader() {
    return rawHeader.clone();
  }

  /**
   * Returns the file offset of the protected-mode kernel, right after the boot sector and the setup
   * sectors.
   */
  public long payloadOffset() {
    return (long) (setupSects + 1) * SECTOR_SIZE;
  }

  /** Returns the version as boot.rst writes it, such as "2.15". */
  public String versionString() {
    return formatVersion(version);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof SetupHeader that
        && setupSects == that.setupSects
        && version == that.version
        && loadflags == that.loadflags
        && initrdAddrMax == that.initrdAddrMax
        && kernelAlignment == that.kernelAlignment
        && relocatableKernel == that.relocatableKernel
        && xloadflags == that.xloadflags
        && cmdlineSize == that.cmdlineSize
        && prefAddress == that.prefAddress
        && initSize == that.initSize
        && Arrays.equals(rawHeader, that.rawHeader);
  }

  @Override
  public int hashCode() {
    return 31 * Integer.hashCode(version) + Arrays.hashCode(rawHeader);
  }

  @Override
  public String toString() {
    return ("SetupHeader[version=%s, setupSects=%d, loadflags=%#x, xloadflags=%#x,"
            + " initrdAddrMax=%#x, kernelAlignment=%#x, relocatableKernel=%b, cmdlineSize=%d,"
            + " prefAddress=%#x, initSize=%#x, rawHeader=%d bytes]")
        .formatted(
            versionString(),
            setupSects,
            loadflags,
            xloadflags,
            initrdAddrMax,
            kernelAlignment,
            relocatableKernel,
            cmdlineSize,
            prefAddress,
            initSize,
            rawHeader.length);
  }

  /**
   * Reads and checks the setup header of a file already known to carry the bzImage signatures.
   *
   * @throws KernelImageException when the protocol is older than 2.12, the header is truncated or
   *     malformed, or the kernel lacks {@link #LOADED_HIGH} or {@link #XLF_KERNEL_64}
   */
  static SetupHeader read(ImageFile file) throws KernelImageException {
    ByteBuffer start = file.read(0, VERSION + Short.BYTES, "the setup header");
    int version = Short.toUnsignedInt(start.getShort(VERSION));
    if (version < MIN_VERSION) {
      throw file.error(
          ("uses boot protocol %s; Kiln needs %s or newer (64-bit entry), so use a kernel from"
                  + " Linux 3.8 or later")
              .formatted(formatVersion(version), formatVersion(MIN_VERSION)));
    }

    int opcode = Byte.toUnsignedInt(start.get(JUMP));
    if (opcode != SHORT_JUMP_OPCODE) {
      throw file.error(
          ("has %#04x at byte %#x instead of a short jump (%#04x), so the setup header length is"
                  + " unknown; the file is damaged")
              .formatted(opcode, JUMP, SHORT_JUMP_OPCODE));
    }
    // The jump's signed 8-bit offset is relative to HEADER and skips the header (boot.rst, jump).
    int headerEnd = HEADER + start.get(JUMP + 1);
    int minimumEnd = INIT_SIZE + Integer.BYTES;
    if (headerEnd < minimumEnd) {
      throw file.error(
          ("has a setup header that ends at byte %#x, before init_size ends at %#x; boot protocol"
                  + " %s needs a longer header, so the file is damaged")
              .formatted(headerEnd, minimumEnd, formatVersion(version)));
    }

    byte[] raw = new byte[headerEnd - SETUP_HEADER_OFFSET];
    file.read(SETUP_HEADER_OFFSET, raw.length, "the setup header").get(raw);
    ByteBuffer fields = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);

    int loadflags = Byte.toUnsignedInt(fields.get(LOADFLAGS - SETUP_HEADER_OFFSET));
    if ((loadflags & LOADED_HIGH) == 0) {
      throw file.error(
          ("does not set LOADED_HIGH in loadflags (%#04x), so it must load at 0x10000, which Kiln"
                  + " does not support; use an x86_64 bzImage")
              .formatted(loadflags));
    }
    int xloadflags = Short.toUnsignedInt(fields.getShort(XLOADFLAGS - SETUP_HEADER_OFFSET));
    if ((xloadflags & XLF_KERNEL_64) == 0) {
      throw file.error(
          ("has no 64-bit entry point: xloadflags %#06x lacks XLF_KERNEL_64; use a 64-bit (x86_64)"
                  + " kernel")
              .formatted(xloadflags));
    }

    int setupSects = Byte.toUnsignedInt(fields.get(SETUP_SECTS - SETUP_HEADER_OFFSET));
    return new SetupHeader(
        setupSects == 0 ? DEFAULT_SETUP_SECTS : setupSects,
        version,
        loadflags,
        Integer.toUnsignedLong(fields.getInt(INITRD_ADDR_MAX - SETUP_HEADER_OFFSET)),
        Integer.toUnsignedLong(fields.getInt(KERNEL_ALIGNMENT - SETUP_HEADER_OFFSET)),
        fields.get(RELOCATABLE_KERNEL - SETUP_HEADER_OFFSET) != 0,
        xloadflags,
        Integer.toUnsignedLong(fields.getInt(CMDLINE_SIZE - SETUP_HEADER_OFFSET)),
        fields.getLong(PREF_ADDRESS - SETUP_HEADER_OFFSET),
        Integer.toUnsignedLong(fields.getInt(INIT_SIZE - SETUP_HEADER_OFFSET)),
        raw);
  }

  private static String formatVersion(int version) {
    return "%d.%02d".formatted(version >>> Byte.SIZE, version & 0xff);
  }
}
