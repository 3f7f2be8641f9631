package dev.kiln.vmm.pvm;

/** What the instruction completer reads of a stopped vCPU besides its general registers. */
public interface GuestCpuView {
  /** Returns true in 64-bit mode (CS.L set with EFER.LMA). */
  boolean longMode();

  /** Returns true when the default operand and address size is 32 bits (CS.D set, not 64-bit). */
  boolean defaultSize32();

  /** Returns the base of a segment register, by its prefix byte (0x64 FS, 0x65 GS); 0 otherwise. */
  long segmentBase(int prefix);

  /**
   * Reads guest memory at a guest-virtual address through the vCPU's page tables.
   *
   * @throws UnsupportedInstructionException when an address is not mapped or not in guest RAM
   */
  byte[] readVirtual(long address, int length) throws UnsupportedInstructionException;
}
