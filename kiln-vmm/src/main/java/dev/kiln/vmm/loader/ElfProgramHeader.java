package dev.kiln.vmm.loader;

import java.nio.ByteBuffer;

/**
 * One {@code Elf64_Phdr} as stored in the file. The 64-bit fields are unsigned in ELF and are kept
 * as raw bits, so a value of 2^63 or more reads as negative here and must be compared unsigned.
 *
 * @param index the position in the program header table, for error messages
 * @param type {@code p_type}, such as {@link Elf64#PT_LOAD}
 * @param offset {@code p_offset}, where the segment's bytes start in the file
 * @param physicalAddress {@code p_paddr}, the guest-physical load address
 * @param fileSize {@code p_filesz}, how many bytes the file holds for the segment
 * @param memorySize {@code p_memsz}, the size in memory; bytes past {@code p_filesz} are zero
 * @param alignment {@code p_align}
 */
record ElfProgramHeader(
    int index,
    int type,
    long offset,
    long physicalAddress,
    long fileSize,
    long memorySize,
    long alignment) {

  /** Parses the program header at the start of {@code buffer}, which is little-endian. */
  static ElfProgramHeader parse(int index, ByteBuffer buffer) {
    return new ElfProgramHeader(
        index,
        buffer.getInt(Elf64.P_TYPE),
        buffer.getLong(Elf64.P_OFFSET),
        buffer.getLong(Elf64.P_PADDR),
        buffer.getLong(Elf64.P_FILESZ),
        buffer.getLong(Elf64.P_MEMSZ),
        buffer.getLong(Elf64.P_ALIGN));
  }
}
