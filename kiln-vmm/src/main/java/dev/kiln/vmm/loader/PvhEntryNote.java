package dev.kiln.vmm.loader;

import dev.kiln.vmm.arch.x86_64.Layout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;

/**
 * Finds the Xen {@code XEN_ELFNOTE_PHYS32_ENTRY} note, whose presence marks an ELF kernel that
 * supports the PVH boot ABI and whose descriptor is the 32-bit physical entry address. Linux emits
 * it from arch/x86/platform/pvh/head.S when built with CONFIG_PVH.
 */
final class PvhEntryNote {
  /** The note name, terminating NUL included, as {@code n_namesz} counts it. */
  private static final byte[] XEN_NOTE_NAME = "Xen\0".getBytes(StandardCharsets.US_ASCII);

  /** The note type of the PVH entry point (xen/include/public/elfnote.h). */
  static final int XEN_ELFNOTE_PHYS32_ENTRY = 18;

  /** Note alignment for segments whose {@code p_align} is not 8, as Linux pads its notes. */
  private static final int DEFAULT_NOTE_ALIGNMENT = 4;

  /** The one other note alignment in use, for segments with {@code p_align} of 8. */
  private static final int WIDE_NOTE_ALIGNMENT = 8;

  private static final int ADDRESS32_SIZE = Integer.BYTES;
  private static final int ADDRESS64_SIZE = Long.BYTES;

  private PvhEntryNote() {}

  /**
   * Scans the notes of every PT_NOTE segment and returns the PVH entry address, if a note has one.
   * The segments' file ranges must already be checked to lie inside the file.
   *
   * @throws KernelImageException when a note runs past its segment, or the PVH note's descriptor is
   *     not a 4- or 8-byte address below 4 GiB
   */
  static OptionalLong find(ImageFile file, List<ElfProgramHeader> noteSegments)
      throws KernelImageException {
    for (ElfProgramHeader segment : noteSegments) {
      OptionalLong entry = findInSegment(file, segment);
      if (entry.isPresent()) {
        return entry;
      }
    }
    return OptionalLong.empty();
  }

  private static OptionalLong findInSegment(ImageFile file, ElfProgramHeader segment)
      throws KernelImageException {
    int alignment =
        segment.alignment() == WIDE_NOTE_ALIGNMENT ? WIDE_NOTE_ALIGNMENT : DEFAULT_NOTE_ALIGNMENT;
    long end = segment.offset() + segment.fileSize();
    long position = segment.offset();
    for (int noteIndex = 0; position < end; noteIndex++) {
      String where =
          "note %d in PT_NOTE segment %d (at byte %d)"
              .formatted(noteIndex, segment.index(), position);
      if (end - position < Elf64.NHDR_SIZE) {
        throw file.error(
            ("has a malformed %s: its %d-byte header runs past the segment end at byte %d;"
                    + " rebuild the kernel")
                .formatted(where, Elf64.NHDR_SIZE, end));
      }
      ByteBuffer header = file.read(position, Elf64.NHDR_SIZE, where);
      long nameSize = Integer.toUnsignedLong(header.getInt(0));
      long descriptorSize = Integer.toUnsignedLong(header.getInt(Integer.BYTES));
      int type = header.getInt(2 * Integer.BYTES);

      // Name and descriptor are padded so each starts aligned relative to the note's start, as
      // glibc's ELF_NOTE_DESC_OFFSET computes it. Sizes are below 2^32, so no sum overflows.
      long nameStart = position + Elf64.NHDR_SIZE;
      long descriptorStart = position + alignUp(Elf64.NHDR_SIZE + nameSize, alignment);
      if (descriptorStart + descriptorSize > end) {
        throw file.error(
            ("has a malformed %s: n_namesz %d and n_descsz %d run past the segment end at byte %d;"
                    + " rebuild the kernel")
                .formatted(where, nameSize, descriptorSize, end));
      }

      if (type == XEN_ELFNOTE_PHYS32_ENTRY && nameSize == XEN_NOTE_NAME.length) {
        byte[] name = new byte[XEN_NOTE_NAME.length];
        file.read(nameStart, name.length, where).get(name);
        if (Arrays.equals(name, XEN_NOTE_NAME)) {
          return OptionalLong.of(readEntry(file, where, descriptorStart, descriptorSize));
        }
      }
      position += alignUp(descriptorStart - position + descriptorSize, alignment);
    }
    return OptionalLong.empty();
  }

  private static long readEntry(ImageFile file, String where, long start, long size)
      throws KernelImageException {
    long entry;
    if (size == ADDRESS32_SIZE) {
      entry = Integer.toUnsignedLong(file.read(start, ADDRESS32_SIZE, where).getInt(0));
    } else if (size == ADDRESS64_SIZE) {
      entry = file.read(start, ADDRESS64_SIZE, where).getLong(0);
    } else {
      throw file.error(
          ("has a malformed %s: the Xen XEN_ELFNOTE_PHYS32_ENTRY descriptor is %d bytes, not a 4-"
                  + " or 8-byte address; rebuild the kernel")
              .formatted(where, size));
    }
    if (entry == 0 || Long.compareUnsigned(entry, Layout.FIRST_ADDR_PAST_32BITS) >= 0) {
      throw file.error(
          ("has a malformed %s: the Xen XEN_ELFNOTE_PHYS32_ENTRY address %s is not a nonzero"
                  + " 32-bit address; rebuild the kernel")
              .formatted(where, Unsigned.hex(entry)));
    }
    return entry;
  }

  private static long alignUp(long value, int alignment) {
    return (value + alignment - 1) & -alignment;
  }
}
