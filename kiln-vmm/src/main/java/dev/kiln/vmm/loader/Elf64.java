package dev.kiln.vmm.loader;

/**
 * Field offsets and values of 64-bit ELF files, from the System V gABI and Linux
 * include/uapi/linux/elf.h. Offsets are in bytes from the start of their structure.
 */
final class Elf64 {
  /** The four bytes every ELF file starts with: 0x7f 'E' 'L' 'F'. */
  static final byte[] ELFMAG = {0x7f, 'E', 'L', 'F'};

  /** Index of the file class byte in {@code e_ident}. */
  static final int EI_CLASS = 4;

  /** A file of 32-bit objects. */
  static final int ELFCLASS32 = 1;

  /** A file of 64-bit objects. */
  static final int ELFCLASS64 = 2;

  /** Index of the data encoding byte in {@code e_ident}. */
  static final int EI_DATA = 5;

  /** Two's complement, little-endian data. */
  static final int ELFDATA2LSB = 1;

  /** {@code e_type} of an executable file. */
  static final int ET_EXEC = 2;

  /** {@code e_machine} of AMD x86-64. */
  static final int EM_X86_64 = 62;

  /** Size of {@code Elf64_Ehdr}. */
  static final int EHDR_SIZE = 64;

  // Offsets of Elf64_Ehdr fields after e_ident.
  static final int E_TYPE = 0x10;
  static final int E_MACHINE = 0x12;
  static final int E_ENTRY = 0x18;
  static final int E_PHOFF = 0x20;
  static final int E_PHENTSIZE = 0x36;
  static final int E_PHNUM = 0x38;

  /**
   * {@code e_phnum} value that means the real count is in section header 0, for files with 65535 or
   * more program headers.
   */
  static final int PN_XNUM = 0xffff;

  /** Size of {@code Elf64_Phdr}. */
  static final int PHDR_SIZE = 56;

  // Offsets of Elf64_Phdr fields.
  static final int P_TYPE = 0x00;
  static final int P_OFFSET = 0x08;
  static final int P_PADDR = 0x18;
  static final int P_FILESZ = 0x20;
  static final int P_MEMSZ = 0x28;
  static final int P_ALIGN = 0x30;

  /** A loadable segment. */
  static final int PT_LOAD = 1;

  /** A segment of notes. */
  static final int PT_NOTE = 4;

  /** Size of a note header: {@code n_namesz}, {@code n_descsz} and {@code n_type}, 4 bytes each. */
  static final int NHDR_SIZE = 12;

  private Elf64() {}
}
