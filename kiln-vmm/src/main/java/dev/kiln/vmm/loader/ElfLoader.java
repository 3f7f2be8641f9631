package dev.kiln.vmm.loader;

import dev.kiln.vmm.arch.x86_64.Layout;
import dev.kiln.vmm.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalLong;

/**
 * Loads an uncompressed x86_64 kernel (vmlinux) in ELF format: each PT_LOAD segment is copied to
 * its physical address {@code p_paddr} and zero-filled up to {@code p_memsz}. The kernel is entered
 * through PVH when it has a Xen PHYS32_ENTRY note, and otherwise at {@code e_entry} through the
 * Linux 64-bit boot protocol. Every header value is checked against the file and guest RAM before
 * any byte is written.
 */
final class ElfLoader {
  /** The end of the identity mapping that the Linux 64-bit boot path sets up (1 GiB). */
  static final long IDENTITY_MAP_END = 1L << 30;

  private ElfLoader() {}

  /**
   * Loads the ELF kernel in {@code file} into {@code memory}.
   *
   * @throws KernelImageException when the file is not an x86_64 executable, is truncated or
   *     malformed, or does not fit in guest RAM at or above 1 MiB
   */
  static LoadedKernel load(ImageFile file, GuestMemory memory) throws KernelImageException {
    ByteBuffer header = file.read(0, Elf64.EHDR_SIZE, "the ELF header");
    checkIdentification(file, header);

    long entry = header.getLong(Elf64.E_ENTRY);
    if (entry == 0) {
      throw file.error(
          "has no entry point (e_entry is 0); pass the vmlinux from the kernel build directory");
    }

    List<ElfProgramHeader> programHeaders = readProgramHeaders(file, header);
    List<ElfProgramHeader> segments = new ArrayList<>();
    List<ElfProgramHeader> notes = new ArrayList<>();
    for (ElfProgramHeader programHeader : programHeaders) {
      if (programHeader.type() == Elf64.PT_LOAD) {
        checkLoadSegment(file, memory, programHeader);
        if (programHeader.memorySize() != 0) {
          segments.add(programHeader);
        }
      } else if (programHeader.type() == Elf64.PT_NOTE) {
        file.checkInFile(
            programHeader.offset(),
            programHeader.fileSize(),
            "PT_NOTE segment " + programHeader.index());
        notes.add(programHeader);
      }
    }
    if (segments.isEmpty()) {
      throw file.error(
          "has no loadable segments (no PT_LOAD with p_memsz above 0); pass a bootable vmlinux");
    }
    segments.sort(Comparator.comparingLong(ElfProgramHeader::physicalAddress));
    checkNoOverlap(file, segments);

    OptionalLong pvhEntry = PvhEntryNote.find(file, notes);
    BootProtocol protocol = pvhEntry.isPresent() ? BootProtocol.PVH : BootProtocol.LINUX_64;
    long entryAddress = pvhEntry.orElse(entry);
    checkEntryInSegment(file, segments, entryAddress, protocol);
    if (protocol == BootProtocol.LINUX_64
        && Long.compareUnsigned(entryAddress, IDENTITY_MAP_END) >= 0) {
      throw file.error(
          ("has its 64-bit entry point at %s, above the first 1 GiB that Kiln maps at entry;"
                  + " link the kernel lower or give it a PVH entry note")
              .formatted(Unsigned.hex(entryAddress)));
    }

    for (ElfProgramHeader segment : segments) {
      String part = "segment " + segment.index();
      file.copyTo(memory, segment.physicalAddress(), segment.offset(), segment.fileSize(), part);
      memory.zero(
          segment.physicalAddress() + segment.fileSize(),
          segment.memorySize() - segment.fileSize());
    }

    ElfProgramHeader last = segments.getLast();
    return new LoadedKernel(
        protocol,
        entryAddress,
        segments.getFirst().physicalAddress(),
        last.physicalAddress() + last.memorySize(),
        null);
  }

  private static void checkIdentification(ImageFile file, ByteBuffer header)
      throws KernelImageException {
    int elfClass = header.get(Elf64.EI_CLASS);
    if (elfClass == Elf64.ELFCLASS32) {
      throw file.error(
          "is a 32-bit ELF file (ELFCLASS32); Kiln boots 64-bit kernels, so pass an x86_64"
              + " vmlinux");
    }
    if (elfClass != Elf64.ELFCLASS64) {
      throw file.error(
          ("has invalid ELF class %d in e_ident[EI_CLASS], expected ELFCLASS64 (%d); the file is"
                  + " damaged")
              .formatted(elfClass, Elf64.ELFCLASS64));
    }
    int encoding = header.get(Elf64.EI_DATA);
    if (encoding != Elf64.ELFDATA2LSB) {
      throw file.error(
          ("has data encoding %d in e_ident[EI_DATA], not little-endian (ELFDATA2LSB, %d); pass"
                  + " an x86_64 vmlinux")
              .formatted(encoding, Elf64.ELFDATA2LSB));
    }
    int machine = Short.toUnsignedInt(header.getShort(Elf64.E_MACHINE));
    if (machine != Elf64.EM_X86_64) {
      throw file.error(
          ("is built for ELF machine %d (e_machine), not x86_64 (EM_X86_64, %d); pass an x86_64"
                  + " vmlinux")
              .formatted(machine, Elf64.EM_X86_64));
    }
    int type = Short.toUnsignedInt(header.getShort(Elf64.E_TYPE));
    if (type != Elf64.ET_EXEC) {
      throw file.error(
          ("has ELF type %d (e_type), not an executable (ET_EXEC, %d); pass the vmlinux from the"
                  + " kernel build directory, not a module or object file")
              .formatted(type, Elf64.ET_EXEC));
    }
  }

  private static List<ElfProgramHeader> readProgramHeaders(ImageFile file, ByteBuffer header)
      throws KernelImageException {
    int entrySize = Short.toUnsignedInt(header.getShort(Elf64.E_PHENTSIZE));
    if (entrySize != Elf64.PHDR_SIZE) {
      throw file.error(
          ("has program header size %d (e_phentsize), but ELF64 program headers are %d bytes;"
                  + " the file is damaged")
              .formatted(entrySize, Elf64.PHDR_SIZE));
    }
    int count = Short.toUnsignedInt(header.getShort(Elf64.E_PHNUM));
    if (count == 0) {
      throw file.error("has no program headers (e_phnum is 0); pass a bootable vmlinux");
    }
    if (count == Elf64.PN_XNUM) {
      throw file.error(
          "uses extended program header numbering (e_phnum is PN_XNUM), which Kiln does not"
              + " support");
    }
    long tableOffset = header.getLong(Elf64.E_PHOFF);
    List<ElfProgramHeader> programHeaders = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      // Program header 0 is checked against the file first, so later offsets cannot wrap.
      long offset = tableOffset + (long) i * Elf64.PHDR_SIZE;
      ByteBuffer buffer = file.read(offset, Elf64.PHDR_SIZE, "program header " + i);
      programHeaders.add(ElfProgramHeader.parse(i, buffer));
    }
    return programHeaders;
  }

  private static void checkLoadSegment(ImageFile file, GuestMemory memory, ElfProgramHeader segment)
      throws KernelImageException {
    int index = segment.index();
    if (Long.compareUnsigned(segment.fileSize(), segment.memorySize()) > 0) {
      throw file.error(
          "has a malformed segment %d: p_filesz %s is larger than p_memsz %s; the file is damaged"
              .formatted(
                  index, Unsigned.hex(segment.fileSize()), Unsigned.hex(segment.memorySize())));
    }
    file.checkInFile(segment.offset(), segment.fileSize(), "segment " + index);
    if (segment.memorySize() == 0) {
      return;
    }

    String range = Unsigned.hexRange(segment.physicalAddress(), segment.memorySize());
    if (Long.compareUnsigned(segment.physicalAddress(), Layout.HIMEM_START) < 0) {
      throw file.error(
          ("does not fit in guest memory: segment %d at %s starts below %s (1 MiB), where Kiln"
                  + " keeps its boot structures; use a kernel linked at or above 1 MiB")
              .formatted(index, range, Unsigned.hex(Layout.HIMEM_START)));
    }
    if (!memory.contains(segment.physicalAddress(), segment.memorySize())) {
      throw file.error(
          ("does not fit in guest memory: segment %d at %s but RAM below the device window ends"
                  + " at %s; raise mem_size_mib")
              .formatted(index, range, Unsigned.hex(Layout.lowMemoryEnd(memory.size()))));
    }
  }

  /** Rejects segments that share bytes, where loading one would overwrite another. */
  private static void checkNoOverlap(ImageFile file, List<ElfProgramHeader> sortedSegments)
      throws KernelImageException {
    for (int i = 1; i < sortedSegments.size(); i++) {
      ElfProgramHeader previous = sortedSegments.get(i - 1);
      ElfProgramHeader current = sortedSegments.get(i);
      if (current.physicalAddress() < previous.physicalAddress() + previous.memorySize()) {
        throw file.error(
            ("has segments %d (%s) and %d (%s) that overlap in physical memory; the file is"
                    + " damaged")
                .formatted(
                    previous.index(),
                    Unsigned.hexRange(previous.physicalAddress(), previous.memorySize()),
                    current.index(),
                    Unsigned.hexRange(current.physicalAddress(), current.memorySize())));
      }
    }
  }

  private static void checkEntryInSegment(
      ImageFile file, List<ElfProgramHeader> segments, long entry, BootProtocol protocol)
      throws KernelImageException {
    for (ElfProgramHeader segment : segments) {
      if (entry >= segment.physicalAddress()
          && entry - segment.physicalAddress() < segment.memorySize()) {
        return;
      }
    }
    String source =
        protocol == BootProtocol.PVH ? "XEN_ELFNOTE_PHYS32_ENTRY address" : "entry point (e_entry)";
    throw file.error(
        ("has its %s at %s, outside every loadable segment; pass the vmlinux from the kernel build"
                + " directory")
            .formatted(source, Unsigned.hex(entry)));
  }
}
