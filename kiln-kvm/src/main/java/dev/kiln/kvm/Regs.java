package dev.kiln.kvm;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;

/** General-purpose registers of a vCPU: {@code struct kvm_regs} (linux/kvm.h, x86). */
public final class Regs {
  /** Size of {@code struct kvm_regs}: 18 registers of 8 bytes. */
  public static final int SIZE = 144;

  public long rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
  public long r8, r9, r10, r11, r12, r13, r14, r15;
  public long rip, rflags;

  /** Reads the structure from native memory. */
  public static Regs read(MemorySegment segment) {
    long[] v = segment.asSlice(0, SIZE).toArray(JAVA_LONG);
    Regs r = new Regs();
    r.rax = v[0];
    r.rbx = v[1];
    r.rcx = v[2];
    r.rdx = v[3];
    r.rsi = v[4];
    r.rdi = v[5];
    r.rsp = v[6];
    r.rbp = v[7];
    r.r8 = v[8];
    r.r9 = v[9];
    r.r10 = v[10];
    r.r11 = v[11];
    r.r12 = v[12];
    r.r13 = v[13];
    r.r14 = v[14];
    r.r15 = v[15];
    r.rip = v[16];
    r.rflags = v[17];
    return r;
  }

  /** Writes the structure to native memory. */
  public void write(MemorySegment segment) {
    long[] v = {
      rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags
    };
    MemorySegment.copy(v, 0, segment, JAVA_LONG, 0, v.length);
  }

  /**
   * Returns a general-purpose register by its x86 encoding number (0 = RAX ... 7 = RDI, 8-15 =
   * R8-R15), as ModRM and REX fields name them.
   */
  public long get(int number) {
    return switch (number) {
      case 0 -> rax;
      case 1 -> rcx;
      case 2 -> rdx;
      case 3 -> rbx;
      case 4 -> rsp;
      case 5 -> rbp;
      case 6 -> rsi;
      case 7 -> rdi;
      case 8 -> r8;
      case 9 -> r9;
      case 10 -> r10;
      case 11 -> r11;
      case 12 -> r12;
      case 13 -> r13;
      case 14 -> r14;
      case 15 -> r15;
      default -> throw new IllegalArgumentException("register number " + number + " is not 0-15");
    };
  }

  /** Sets a general-purpose register by its x86 encoding number; see {@link #get}. */
  public void set(int number, long value) {
    switch (number) {
      case 0 -> rax = value;
      case 1 -> rcx = value;
      case 2 -> rdx = value;
      case 3 -> rbx = value;
      case 4 -> rsp = value;
      case 5 -> rbp = value;
      case 6 -> rsi = value;
      case 7 -> rdi = value;
      case 8 -> r8 = value;
      case 9 -> r9 = value;
      case 10 -> r10 = value;
      case 11 -> r11 = value;
      case 12 -> r12 = value;
      case 13 -> r13 = value;
      case 14 -> r14 = value;
      case 15 -> r15 = value;
      default -> throw new IllegalArgumentException("register number " + number + " is not 0-15");
    }
  }

  @Override
  public String toString() {
    return String.format(
        "rip=%016x rflags=%016x rax=%016x rbx=%016x rcx=%016x rdx=%016x rsi=%016x rdi=%016x"
            + " rsp=%016x rbp=%016x r8=%016x r9=%016x r10=%016x r11=%016x r12=%016x r13=%016x"
            + " r14=%016x r15=%016x",
        rip, rflags, rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15);
  }
}
