package dev.kiln.vmm.loader;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds small synthetic x86_64 ELF executables for loader tests. By default the result is a valid
 * file: the ELF header, the program header table and then each segment's bytes. Tests set header
 * fields to wrong values to build invalid files.
 */
final class ElfImageBuilder {
  /** One program header and the file bytes of its segment. */
  record Segment(int type, long physicalAddress, byte[] data, long memorySize, long alignment) {}

  int elfClass = Elf64.ELFCLASS64;
  int dataEncoding = Elf64.ELFDATA2LSB;
  int type = Elf64.ET_EXEC;
  int machine = Elf64.EM_X86_64;
  long entry;
  int programHeaderEntrySize = Elf64.PHDR_SIZE;

  /** Replaces the real program header count when not null. */
  Integer programHeaderCount;

  /** Replaces the real program header table offset when not null. */
  Long programHeaderOffset;

  /** Replaces {@code p_offset} of the segment at the same index when not null there. */
  final List<Long> offsetOverrides = new ArrayList<>();

  /** Replaces {@code p_filesz} of the segment at the same index when not null there. */
  final List<Long> fileSizeOverrides = new ArrayList<>();

  final List<Segment> segments = new ArrayList<>();

  ElfImageBuilder entry(long address) {
    entry = address;
    return this;
  }

  ElfImageBuilder load(long physicalAddress, byte[] data, long memorySize) {
    segments.add(new Segment(Elf64.PT_LOAD, physicalAddress, data, memorySize, 0x1000));
    return this;
  }

  ElfImageBuilder note(byte[] notes, long alignment) {
    segments.add(new Segment(Elf64.PT_NOTE, 0, notes, 0, alignment));
    return this;
  }

  ElfImageBuilder overrideOffset(int index, long offset) {
    grow(offsetOverrides, index);
    offsetOverrides.set(index, offset);
    return this;
  }

  ElfImageBuilder overrideFileSize(int index, long fileSize) {
    grow(fileSizeOverrides, index);
    fileSizeOverrides.set(index, fileSize);
    return this;
  }

  byte[] build() {
    int tableSize = segments.size() * Elf64.PHDR_SIZE;
    ByteBuffer header = ByteBuffer.allocate(Elf64.EHDR_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    header.put(Elf64.ELFMAG);
    header.put(Elf64.EI_CLASS, (byte) elfClass);
    header.put(Elf64.EI_DATA, (byte) dataEncoding);
    header.put(6, (byte) 1); // EI_VERSION = EV_CURRENT
    header.putShort(Elf64.E_TYPE, (short) type);
    header.putShort(Elf64.E_MACHINE, (short) machine);
    header.putInt(0x14, 1); // e_version = EV_CURRENT
    header.putLong(Elf64.E_ENTRY, entry);
    header.putLong(
        Elf64.E_PHOFF, programHeaderOffset != null ? programHeaderOffset : Elf64.EHDR_SIZE);
    header.putShort(0x34, (short) Elf64.EHDR_SIZE); // e_ehsize
    header.putShort(Elf64.E_PHENTSIZE, (short) programHeaderEntrySize);
    header.putShort(
        Elf64.E_PHNUM, (short) (programHeaderCount != null ? programHeaderCount : segments.size()));

    ByteBuffer table = ByteBuffer.allocate(tableSize).order(ByteOrder.LITTLE_ENDIAN);
    ByteArrayOutputStream contents = new ByteArrayOutputStream();
    long offset = Elf64.EHDR_SIZE + tableSize;
    for (int i = 0; i < segments.size(); i++) {
      Segment segment = segments.get(i);
      int base = i * Elf64.PHDR_SIZE;
      table.putInt(base + Elf64.P_TYPE, segment.type());
      table.putLong(base + Elf64.P_OFFSET, override(offsetOverrides, i, offset));
      table.putLong(base + 0x10, segment.physicalAddress()); // p_vaddr
      table.putLong(base + Elf64.P_PADDR, segment.physicalAddress());
      table.putLong(base + Elf64.P_FILESZ, override(fileSizeOverrides, i, segment.data().length));
      table.putLong(base + Elf64.P_MEMSZ, segment.memorySize());
      table.putLong(base + Elf64.P_ALIGN, segment.alignment());
      contents.writeBytes(segment.data());
      offset += segment.data().length;
    }

    ByteArrayOutputStream image = new ByteArrayOutputStream();
    image.writeBytes(header.array());
    image.writeBytes(table.array());
    image.writeBytes(contents.toByteArray());
    return image.toByteArray();
  }

  /** Returns one ELF note with name and descriptor padded to {@code alignment} bytes. */
  static byte[] elfNote(String name, int noteType, byte[] descriptor, int alignment) {
    byte[] nameBytes = (name + "\0").getBytes(StandardCharsets.US_ASCII);
    // Padding aligns the descriptor and the next note relative to this note's start.
    int nameSpace = align(Elf64.NHDR_SIZE + nameBytes.length, alignment) - Elf64.NHDR_SIZE;
    int descriptorSpace = align(descriptor.length, alignment);
    ByteBuffer note =
        ByteBuffer.allocate(Elf64.NHDR_SIZE + nameSpace + descriptorSpace)
            .order(ByteOrder.LITTLE_ENDIAN);
    note.putInt(nameBytes.length).putInt(descriptor.length).putInt(noteType);
    note.put(nameBytes).position(Elf64.NHDR_SIZE + nameSpace);
    note.put(descriptor);
    return note.array();
  }

  /** Returns the PVH entry note with a 4-byte address descriptor. */
  static byte[] pvhNote32(int entry) {
    byte[] descriptor =
        ByteBuffer.allocate(Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN).putInt(entry).array();
    return elfNote("Xen", PvhEntryNote.XEN_ELFNOTE_PHYS32_ENTRY, descriptor, 4);
  }

  /** Returns the PVH entry note with an 8-byte address descriptor, as Linux emits it. */
  static byte[] pvhNote64(long entry) {
    return pvhNote64(entry, 4);
  }

  /** Returns the PVH entry note with an 8-byte descriptor, padded to {@code alignment} bytes. */
  static byte[] pvhNote64(long entry, int alignment) {
    byte[] descriptor =
        ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(entry).array();
    return elfNote("Xen", PvhEntryNote.XEN_ELFNOTE_PHYS32_ENTRY, descriptor, alignment);
  }

  /** Returns {@code parts} one after another. */
  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] part : parts) {
      out.writeBytes(part);
    }
    return out.toByteArray();
  }

  /** Returns {@code length} bytes counting up from {@code first}, so misplaced copies show. */
  static byte[] pattern(int length, int first) {
    byte[] bytes = new byte[length];
    for (int i = 0; i < length; i++) {
      bytes[i] = (byte) (first + i);
    }
    return bytes;
  }

  private static int align(int value, int alignment) {
    return (value + alignment - 1) / alignment * alignment;
  }

  private static long override(List<Long> overrides, int index, long value) {
    return index < overrides.size() && overrides.get(index) != null ? overrides.get(index) : value;
  }

  private static void grow(List<Long> list, int index) {
    while (list.size() <= index) {
      list.add(null);
    }
  }
}
