package dev.kiln.vmm.loader;

import dev.kiln.vmm.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * Loads an x86_64 Linux kernel into guest memory and returns how to enter it. Two formats are
 * accepted, distinguished by their magic numbers: an uncompressed ELF vmlinux, booted through PVH
 * when it has the Xen PHYS32_ENTRY note and through the Linux 64-bit boot protocol otherwise, and a
 * bzImage, booted through the Linux 64-bit boot protocol.
 */
public final class KernelLoader {
  /** The configuration field that names the kernel, for the fix in error messages. */
  static final String KERNEL_SETTING = "kernel_image_path";

  /** How many leading bytes an error shows when the format is not recognized. */
  private static final int MAGIC_SIZE = Elf64.ELFMAG.length;

  /** The bytes needed to see both bzImage signatures: up to the end of "HdrS". */
  private static final int BZIMAGE_SIGNATURE_END = SetupHeader.HEADER + Integer.BYTES;

  private KernelLoader() {}

  /**
   * Loads the kernel at {@code kernel} into {@code memory}. Nothing is written to guest memory
   * unless every header check passes, but a read error part-way through a copy can leave part of
   * the kernel in memory.
   *
   * @throws KernelImageException when the file is missing, unreadable, neither ELF nor bzImage,
   *     truncated or malformed, uses an unsupported boot protocol, or does not fit in guest memory;
   *     the message names the file, the value and the fix
   */
  public static LoadedKernel load(Path kernel, GuestMemory memory) throws KernelImageException {
    try (ImageFile file = ImageFile.open(kernel, "kernel", KERNEL_SETTING)) {
      if (file.size() < MAGIC_SIZE) {
        throw file.error(
            ("is truncated: it has %d bytes, too few for an ELF or bzImage header; pass a vmlinux"
                    + " or bzImage")
                .formatted(file.size()));
      }
      byte[] magic = new byte[MAGIC_SIZE];
      file.read(0, MAGIC_SIZE, "the magic number").get(magic);
      if (Arrays.equals(magic, Elf64.ELFMAG)) {
        return ElfLoader.load(file.withLabel("ELF kernel"), memory);
      }
      if (file.size() >= BZIMAGE_SIGNATURE_END && hasBzImageSignatures(file)) {
        return BzImageLoader.load(file.withLabel("bzImage"), memory);
      }
      String sizeNote =
          file.size() < BZIMAGE_SIGNATURE_END
              ? " and has %d bytes, too few for a bzImage header".formatted(file.size())
              : "";
      throw file.error(
          "is not an ELF or bzImage file: it starts with bytes %s%s; pass a vmlinux or bzImage"
              .formatted(HexFormat.ofDelimiter(" ").formatHex(magic), sizeNote));
    }
  }

  /** Returns true when the file has both {@code boot_flag} 0xAA55 and the "HdrS" header magic. */
  private static boolean hasBzImageSignatures(ImageFile file) throws KernelImageException {
    ByteBuffer signatures =
        file.read(
            SetupHeader.BOOT_FLAG,
            BZIMAGE_SIGNATURE_END - SetupHeader.BOOT_FLAG,
            "the bzImage signatures");
    int bootFlag = Short.toUnsignedInt(signatures.getShort(0));
    int headerMagic = signatures.getInt(SetupHeader.HEADER - SetupHeader.BOOT_FLAG);
    return bootFlag == SetupHeader.BOOT_FLAG_MAGIC && headerMagic == SetupHeader.HEADER_MAGIC;
  }
}
