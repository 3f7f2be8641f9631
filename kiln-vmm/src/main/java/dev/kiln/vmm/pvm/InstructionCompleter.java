package dev.kiln.vmm.pvm;

import dev.kiln.kvm.Regs;

/**
 * Completes, in user space, the instructions that a PVM host's emulator gives up on ({@code
 * KVM_EXIT_INTERNAL_ERROR} with {@code KVM_INTERNAL_ERROR_EMULATION}): int3, clac, stac, popcnt and
 * fwait. Anything else is reported, never skipped. Encodings from the Intel SDM vol. 2.
 */
public final class InstructionCompleter {
  /** The breakpoint exception vector, #BP. */
  public static final int VECTOR_BREAKPOINT = 3;

  static final long RFLAGS_CF = 1;
  static final long RFLAGS_PF = 1 << 2;
  static final long RFLAGS_AF = 1 << 4;
  static final long RFLAGS_ZF = 1 << 6;
  static final long RFLAGS_SF = 1 << 7;
  static final long RFLAGS_OF = 1 << 11;
  static final long RFLAGS_AC = 1 << 18;

  /**
   * The outcome of a completed instruction.
   *
   * @param name the instruction's mnemonic, for logs
   * @param exceptionVector an exception to inject after the registers are written, or -1
   */
  public record Completion(String name, int exceptionVector) {}

  /**
   * Completes one instruction: updates {@code regs} (RIP, RFLAGS, the destination register) as the
   * CPU would have.
   *
   * @param bytes the instruction bytes starting at RIP, as KVM fetched them
   * @throws UnsupportedInstructionException naming the bytes when the instruction is not one of
   *     those Kiln completes, or its memory operand cannot be read
   */
  public Completion complete(byte[] bytes, Regs regs, GuestCpuView cpu)
      throws UnsupportedInstructionException {
    if (bytes.length == 0) {
      throw new UnsupportedInstructionException("KVM gave no instruction bytes");
    }
    int b0 = bytes[0] & 0xff;
    if (b0 == 0xcc) {
      // int3 is a trap: the saved RIP points after it, and the guest's #BP handler runs next.
      regs.rip += 1;
      return new Completion("int3", VECTOR_BREAKPOINT);
    }
    if (b0 == 0x9b) {
      regs.rip += 1;
      return new Completion("fwait", -1);
    }
    if (bytes.length >= 3 && b0 == 0x0f && (bytes[1] & 0xff) == 0x01) {
      int b2 = bytes[2] & 0xff;
      if (b2 == 0xca) {
        regs.rflags &= ~RFLAGS_AC;
        regs.rip += 3;
        return new Completion("clac", -1);
      }
      if (b2 == 0xcb) {
        regs.rflags |= RFLAGS_AC;
        regs.rip += 3;
        return new Completion("stac", -1);
      }
    }
    return Popcnt.complete(bytes, regs, cpu);
  }

  /** Formats instruction bytes as hex pairs, for messages. */
  public static String hex(byte[] bytes) {
    StringBuilder sb = new StringBuilder();
    for (byte b : bytes) {
      if (!sb.isEmpty()) {
        sb.append(' ');
      }
      sb.append(String.format("%02x", b & 0xff));
    }
    return sb.toString();
  }
}
