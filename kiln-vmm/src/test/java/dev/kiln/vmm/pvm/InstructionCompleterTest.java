package dev.kiln.vmm.pvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.kvm.Regs;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Test;

class InstructionCompleterTest {
  private static final long CF = 1;
  private static final long PF = 1 << 2;
  private static final long AF = 1 << 4;
  private static final long ZF = 1 << 6;
  private static final long SF = 1 << 7;
  private static final long IF = 1 << 9;
  private static final long DF = 1 << 10;
  private static final long OF = 1 << 11;
  private static final long AC = 1 << 18;
  private static final long ARITHMETIC_FLAGS = CF | PF | AF | ZF | SF | OF;
  private static final long RIP = 0xffff_ffff_8100_0000L;
  private static final long MEMORY_BASE = 0x10_0000;

  /**
   * A stopped vCPU with 4 KiB of flat virtual memory at {@link #MEMORY_BASE}. Reads outside it fail
   * as an unmapped address does.
   */
  private static final class FakeCpu implements GuestCpuView {
    final byte[] memory = new byte[4096];
    final boolean longMode;
    final boolean defaultSize32;
    final Map<Integer, Long> segmentBases;
    long lastReadAddress = -1;
    int lastReadLength = -1;

    FakeCpu(boolean longMode, boolean defaultSize32, Map<Integer, Long> segmentBases) {
      this.longMode = longMode;
      this.defaultSize32 = defaultSize32;
      this.segmentBases = segmentBases;
    }

    static FakeCpu in64BitMode() {
      return new FakeCpu(true, false, Map.of());
    }

    static FakeCpu in32BitMode() {
      return new FakeCpu(false, true, Map.of());
    }

    void put(long address, long value, int size) {
      for (int i = 0; i < size; i++) {
        memory[(int) (address - MEMORY_BASE) + i] = (byte) (value >>> (8 * i));
      }
    }

    @Override
    public boolean longMode() {
      return longMode;
    }

    @Override
    public boolean defaultSize32() {
      return defaultSize32;
    }

    @Override
    public long segmentBase(int prefix) {
      return segmentBases.getOrDefault(prefix, 0L);
    }

    @Override
    public byte[] readVirtual(long address, int length) throws UnsupportedInstructionException {
      lastReadAddress = address;
      lastReadLength = length;
      if (address < MEMORY_BASE || address + length > MEMORY_BASE + memory.length) {
        throw new UnsupportedInstructionException(
            "address " + Long.toHexString(address) + " is not mapped");
      }
      byte[] out = new byte[length];
      System.arraycopy(memory, (int) (address - MEMORY_BASE), out, 0, length);
      return out;
    }
  }

  private final InstructionCompleter completer = new InstructionCompleter();
  private final Regs regs = new Regs();
  private FakeCpu cpu = FakeCpu.in64BitMode();

  InstructionCompleterTest() {
    regs.rip = RIP;
    regs.rflags = 0x2;
  }

  private static byte[] bytes(String hex) {
    return HexFormat.ofDelimiter(" ").parseHex(hex);
  }

  private InstructionCompleter.Completion complete(String hex)
      throws UnsupportedInstructionException {
    return completer.complete(bytes(hex), regs, cpu);
  }

  // int3, clac, stac, fwait

  @Test
  void int3AdvancesAndInjectsBreakpoint() throws Exception {
    InstructionCompleter.Completion done = complete("cc");

    assertThat(regs.rip).isEqualTo(RIP + 1);
    assertThat(done.exceptionVector()).isEqualTo(3);
    assertThat(done.name()).isEqualTo("int3");
  }

  @Test
  void clacClearsAlignmentCheck() throws Exception {
    regs.rflags = 0x2 | AC | IF | ZF;

    InstructionCompleter.Completion done = complete("0f 01 ca");

    assertThat(regs.rflags).isEqualTo(0x2 | IF | ZF);
    assertThat(regs.rip).isEqualTo(RIP + 3);
    assertThat(done.exceptionVector()).isEqualTo(-1);
  }

  @Test
  void stacSetsAlignmentCheck() throws Exception {
    regs.rflags = 0x2 | IF | ZF;

    InstructionCompleter.Completion done = complete("0f 01 cb");

    assertThat(regs.rflags).isEqualTo(0x2 | AC | IF | ZF);
    assertThat(regs.rip).isEqualTo(RIP + 3);
    assertThat(done.exceptionVector()).isEqualTo(-1);
  }

  @Test
  void fwaitAdvancesOneByte() throws Exception {
    InstructionCompleter.Completion done = complete("9b");

    assertThat(regs.rip).isEqualTo(RIP + 1);
    assertThat(done.exceptionVector()).isEqualTo(-1);
    assertThat(done.name()).isEqualTo("fwait");
  }

  @Test
  void completerIgnoresBytesAfterInstruction() throws Exception {
    complete("cc 90 90");

    assertThat(regs.rip).isEqualTo(RIP + 1);
  }

  // popcnt with a register source

  @Test
  void popcnt64BitRegister() throws Exception {
    regs.rdi = 0xf0f0_f0f0_f0f0_f0f0L;
    regs.rax = 0x1234;

    InstructionCompleter.Completion done = complete("f3 48 0f b8 c7");

    assertThat(regs.rax).isEqualTo(32);
    assertThat(regs.rip).isEqualTo(RIP + 5);
    assertThat(done.name()).isEqualTo("popcnt");
    assertThat(done.exceptionVector()).isEqualTo(-1);
  }

  @Test
  void popcnt32BitZeroExtends() throws Exception {
    regs.rdi = 0xffff_ffff_0000_000fL;
    regs.rax = -1L;

    complete("f3 0f b8 c7");

    assertThat(regs.rax).isEqualTo(4);
    assertThat(regs.rip).isEqualTo(RIP + 4);
  }

  @Test
  void popcnt16BitKeepsUpperBits() throws Exception {
    regs.rdi = 0xffff_ffff_ffff_00ffL;
    regs.rax = 0x1234_5678_9abc_def0L;

    complete("66 f3 0f b8 c7");

    assertThat(regs.rax).isEqualTo(0x1234_5678_9abc_0008L);
    assertThat(regs.rip).isEqualTo(RIP + 5);
  }

  @Test
  void popcntRexWOverridesOperandPrefix() throws Exception {
    regs.rdi = -1L;

    complete("66 f3 48 0f b8 c7");

    assertThat(regs.rax).isEqualTo(64);
  }

  @Test
  void popcntExtendedRegisters() throws Exception {
    regs.r8 = 0x0101_0101_0101_0101L;
    regs.r9 = -1L;
    regs.rax = 0x55;
    regs.rcx = 0x55;

    complete("f3 4d 0f b8 c8");

    assertThat(regs.r9).as("popcnt r9, r8").isEqualTo(8);
    assertThat(regs.r8).as("source unchanged").isEqualTo(0x0101_0101_0101_0101L);
    assertThat(regs.rcx).as("rcx is not r9").isEqualTo(0x55);
    assertThat(regs.rax).as("rax is not r8").isEqualTo(0x55);
  }

  @Test
  void popcntRexRSelectsDestination() throws Exception {
    regs.rax = 0b1011;
    regs.r8 = -1L;

    complete("f3 44 0f b8 c0");

    assertThat(regs.r8).as("popcnt r8d, eax").isEqualTo(3);
    assertThat(regs.rax).isEqualTo(0b1011);
  }

  @Test
  void popcntRexBSelectsSource() throws Exception {
    regs.r15 = 0b111;
    regs.rdi = 0b1;

    complete("f3 41 0f b8 c7");

    assertThat(regs.rax).as("popcnt eax, r15d").isEqualTo(3);
  }

  @Test
  void popcntZeroSourceSetsZf() throws Exception {
    regs.rdi = 0;
    regs.rax = 99;
    regs.rflags = 0x2 | (ARITHMETIC_FLAGS & ~ZF);

    complete("f3 48 0f b8 c7");

    assertThat(regs.rax).isZero();
    assertThat(regs.rflags).isEqualTo(0x2 | ZF);
  }

  @Test
  void popcntNonzeroSourceClearsFlags() throws Exception {
    regs.rdi = 1;
    regs.rflags = 0x2 | ARITHMETIC_FLAGS;

    complete("f3 48 0f b8 c7");

    assertThat(regs.rflags & ZF).as("ZF").isZero();
    assertThat(regs.rflags & OF).as("OF").isZero();
    assertThat(regs.rflags & SF).as("SF").isZero();
    assertThat(regs.rflags & AF).as("AF").isZero();
    assertThat(regs.rflags & CF).as("CF").isZero();
    assertThat(regs.rflags & PF).as("PF").isZero();
  }

  @Test
  void popcntKeepsControlFlags() throws Exception {
    regs.rdi = 1;
    regs.rflags = 0x2 | IF | DF | AC | ARITHMETIC_FLAGS;

    complete("f3 48 0f b8 c7");

    assertThat(regs.rflags).isEqualTo(0x2 | IF | DF | AC);
  }

  @Test
  void popcnt32BitZeroLowHalfSetsZf() throws Exception {
    regs.rdi = 0xffff_ffff_0000_0000L;

    complete("f3 0f b8 c7");

    assertThat(regs.rax).isZero();
    assertThat(regs.rflags & ZF).as("ZF: the 32-bit source is zero").isEqualTo(ZF);
  }

  // popcnt with a memory source

  @Test
  void popcntMemoryThroughRdi() throws Exception {
    regs.rdi = MEMORY_BASE + 0x100;
    cpu.put(MEMORY_BASE + 0x100, 0x8000_0000_0000_0003L, 8);

    complete("f3 48 0f b8 07");

    assertThat(regs.rax).isEqualTo(3);
    assertThat(cpu.lastReadAddress).isEqualTo(MEMORY_BASE + 0x100);
    assertThat(cpu.lastReadLength).isEqualTo(8);
    assertThat(regs.rip).isEqualTo(RIP + 5);
  }

  @Test
  void popcntMemory32BitOperand() throws Exception {
    regs.rdi = MEMORY_BASE;
    cpu.put(MEMORY_BASE, 0xffff_ffff_0000_0007L, 8);
    regs.rax = -1L;

    complete("f3 0f b8 07");

    assertThat(regs.rax).isEqualTo(3);
    assertThat(cpu.lastReadLength).isEqualTo(4);
  }

  @Test
  void popcntMemory16BitOperand() throws Exception {
    regs.rdi = MEMORY_BASE;
    cpu.put(MEMORY_BASE, 0xffff_ffff_ffff_0101L, 8);
    regs.rax = 0xaaaa_0000_0000_ffffL;

    complete("66 f3 0f b8 07");

    assertThat(regs.rax).isEqualTo(0xaaaa_0000_0000_0002L);
    assertThat(cpu.lastReadLength).isEqualTo(2);
  }

  @Test
  void popcntMemoryBaseDisp8() throws Exception {
    regs.rbx = MEMORY_BASE + 0x200;
    cpu.put(MEMORY_BASE + 0x210, 0xff, 8);

    complete("f3 48 0f b8 43 10");

    assertThat(cpu.lastReadAddress).isEqualTo(MEMORY_BASE + 0x210);
    assertThat(regs.rax).isEqualTo(8);
    assertThat(regs.rip).isEqualTo(RIP + 6);
  }

  @Test
  void popcntMemoryNegativeDisp8() throws Exception {
    regs.rbx = MEMORY_BASE + 0x200;
    cpu.put(MEMORY_BASE + 0x1f0, 0x3, 8);

    complete("f3 48 0f b8 43 f0");

    assertThat(cpu.lastReadAddress).isEqualTo(MEMORY_BASE + 0x1f0);
    assertThat(regs.rax).isEqualTo(2);
  }

  @Test
  void popcntMemoryRspWithSib() throws Exception {
    regs.rsp = MEMORY_BASE + 0x800;
    cpu.put(MEMORY_BASE + 0x800, 0xf, 8);

    complete("f3 48 0f b8 04 24");

    assertThat(cpu.lastReadAddress).isEqualTo(MEMORY_BASE + 0x800);
    assertThat(regs.rax).isEqualTo(4);
    assertThat(regs.rip).isEqualTo(RIP + 6);
  }

  @Test
  void popcntMemoryScaledIndexDisp32() throws Exception {
    regs.rax = MEMORY_BASE;
    regs.rcx = 0x40;
    cpu.put(MEMORY_BASE + 0x40 * 4 + 0x100, 0x1f, 8);

    // popcnt rdx, [rax + rcx*4 + 0x100]
    complete("f3 48 0f b8 94 88 00 01 00 00");

    assertThat(cpu.lastReadAddress).isEqualTo(MEMORY_BASE + 0x200);
    assertThat(regs.rdx).isEqualTo(5);
    assertThat(regs.rip).isEqualTo(RIP + 10);
  }

  @Test
  void popcntMemoryRexXIndexR12() throws Exception {
    regs.rax = MEMORY_BASE;
    regs.r12 = 0x30;
    regs.rsp = 0x7777;
    cpu.put(MEMORY_BASE + 0x30, 0x3, 8);

    // popcnt rax, [rax + r12]: index field 4 with REX.X is r12, not "no index".
    complete("f3 4a 0f b8 04 20");

    assertThat(cpu.lastReadAddress).isEqualTo(MEMORY_BASE + 0x30);
    assertThat(regs.rax).isEqualTo(2);
  }

  @Test
  void popcntMemorySibDisp32NoBase() throws Exception {
    regs.rbp = 0x7777;

    cpu.put(MEMORY_BASE + 0x400, 0x7, 8);

    // popcnt rax, [0x100400]: SIB base 5 with mod 0 means a disp32 and no base register.
    complete("f3 48 0f b8 04 25 00 04 10 00");

    assertThat(cpu.lastReadAddress).isEqualTo(MEMORY_BASE + 0x400);
    assertThat(regs.rax).isEqualTo(3);
    assertThat(regs.rip).isEqualTo(RIP + 10);
  }

  @Test
  void popcntMemoryRipRelative() throws Exception {
    regs.rip = MEMORY_BASE + 0x100;
    cpu.put(MEMORY_BASE + 0x100 + 9 + 0x20, 0x3f, 8);

    complete("f3 48 0f b8 05 20 00 00 00");

    assertThat(cpu.lastReadAddress).as("rip + length + disp32").isEqualTo(MEMORY_BASE + 0x129);
    assertThat(regs.rax).isEqualTo(6);
    assertThat(regs.rip).isEqualTo(MEMORY_BASE + 0x100 + 9);
  }

  @Test
  void popcntMemoryRipRelativeNegative() throws Exception {
    regs.rip = MEMORY_BASE + 0x800;
    cpu.put(MEMORY_BASE + 0x800 + 9 - 0x100, 0x1, 8);

    complete("f3 48 0f b8 05 00 ff ff ff");

    assertThat(cpu.lastReadAddress).isEqualTo(MEMORY_BASE + 0x709);
    assertThat(regs.rax).isEqualTo(1);
  }

  @Test
  void popcntMemoryFsSegment() throws Exception {
    cpu = new FakeCpu(true, false, Map.of(0x64, MEMORY_BASE));
    regs.rdi = 0x80;
    cpu.put(MEMORY_BASE + 0x80, 0x3, 8);

    complete("64 f3 48 0f b8 07");

    assertThat(cpu.lastReadAddress).isEqualTo(MEMORY_BASE + 0x80);
    assertThat(regs.rax).isEqualTo(2);
    assertThat(regs.rip).isEqualTo(RIP + 6);
  }

  @Test
  void popcntAddressSizeOverrideTruncates() throws Exception {
    regs.rdi = 0xffff_ffff_0000_0000L | (MEMORY_BASE + 0x10);
    cpu.put(MEMORY_BASE + 0x10, 0x3, 8);

    complete("67 f3 48 0f b8 07");

    assertThat(cpu.lastReadAddress).isEqualTo(MEMORY_BASE + 0x10);
    assertThat(regs.rip).isEqualTo(RIP + 6);
  }

  @Test
  void popcntProtectedModeMemory() throws Exception {
    cpu = FakeCpu.in32BitMode();
    regs.rip = 0xc100_0000L;
    regs.rdi = MEMORY_BASE;
    cpu.put(MEMORY_BASE, 0x0f0f_0f0fL, 4);

    complete("f3 0f b8 07");

    assertThat(regs.rax).isEqualTo(16);
    assertThat(cpu.lastReadLength).isEqualTo(4);
    assertThat(regs.rip).isEqualTo(0xc100_0000L + 4);
  }

  @Test
  void popcntProtectedModeDisp32IsAbsolute() throws Exception {
    cpu = FakeCpu.in32BitMode();
    regs.rip = 0xc100_0000L;
    cpu.put(MEMORY_BASE + 0x20, 0x1, 4);

    complete("f3 0f b8 05 20 00 10 00");

    assertThat(cpu.lastReadAddress).isEqualTo(MEMORY_BASE + 0x20);
  }

  @Test
  void popcntProtectedModeRejectsRexByte() {
    cpu = FakeCpu.in32BitMode();

    // Outside 64-bit mode 0x48 is DEC EAX, not a REX prefix.
    assertThatThrownBy(() -> complete("f3 48 0f b8 c7"))
        .isInstanceOf(UnsupportedInstructionException.class);
  }

  @Test
  void popcnt16BitAddressingRejected() {
    cpu = new FakeCpu(false, false, Map.of());
    regs.rdi = MEMORY_BASE;

    assertThatThrownBy(() -> complete("f3 0f b8 07"))
        .isInstanceOf(UnsupportedInstructionException.class)
        .hasMessageContaining("f3 0f b8 07");
  }

  @Test
  void popcnt16BitCodeSegmentRegister() throws Exception {
    // With CS.D clear the default operand size is 16 bits, so F3 0F B8 C7 is POPCNT AX, DI and
    // the upper bits of RAX stay.
    cpu = new FakeCpu(false, false, Map.of());
    regs.rdi = 0x0000_ffff_0000_0003L;
    regs.rax = 0x0000_0000_1234_5678L;

    complete("f3 0f b8 c7");

    assertThat(regs.rax).isEqualTo(0x0000_0000_1234_0002L);
  }

  @Test
  void popcntUnreadableMemoryThrows() {
    regs.rdi = 0x10;
    long rip = regs.rip;

    assertThatThrownBy(() -> complete("f3 48 0f b8 07"))
        .isInstanceOf(UnsupportedInstructionException.class)
        .hasMessageContaining("not mapped");
    assertThat(regs.rip).as("RIP unchanged").isEqualTo(rip);
    assertThat(regs.rax).as("destination unchanged").isZero();
  }

  // rejected bytes

  @Test
  void ud2RejectedWithBytes() {
    assertThatThrownBy(() -> complete("0f 0b"))
        .isInstanceOf(UnsupportedInstructionException.class)
        .hasMessageContaining("0f 0b");
  }

  @Test
  void xrstorRejectedWithBytes() {
    assertThatThrownBy(() -> complete("48 0f ae 2f"))
        .isInstanceOf(UnsupportedInstructionException.class)
        .hasMessageContaining("48 0f ae 2f");
  }

  @Test
  void popcntWithoutRepPrefixRejected() {
    assertThatThrownBy(() -> complete("48 0f b8 c7"))
        .isInstanceOf(UnsupportedInstructionException.class)
        .hasMessageContaining("48 0f b8 c7");
  }

  @Test
  void popcntWithRepnePrefixRejected() {
    assertThatThrownBy(() -> complete("f2 48 0f b8 c7"))
        .isInstanceOf(UnsupportedInstructionException.class);
  }

  @Test
  void otherZeroFOneRejected() {
    // 0f 01 c8 is MONITOR, which shares the first two bytes with CLAC and STAC.
    assertThatThrownBy(() -> complete("0f 01 c8"))
        .isInstanceOf(UnsupportedInstructionException.class)
        .hasMessageContaining("0f 01 c8");
  }

  @Test
  void rejectedInstructionLeavesRegisters() {
    regs.rflags = 0x2 | ZF;

    assertThatThrownBy(() -> complete("0f 0b")).isInstanceOf(UnsupportedInstructionException.class);
    assertThat(regs.rip).isEqualTo(RIP);
    assertThat(regs.rflags).isEqualTo(0x2 | ZF);
  }

  @Test
  void emptyBytesRejected() {
    assertThatThrownBy(() -> completer.complete(new byte[0], regs, cpu))
        .isInstanceOf(UnsupportedInstructionException.class);
  }

  @Test
  void truncatedBeforeModrmRejected() {
    assertThatThrownBy(() -> complete("f3 48 0f b8"))
        .isInstanceOf(UnsupportedInstructionException.class)
        .hasMessageContaining("f3 48 0f b8");
  }

  @Test
  void truncatedPrefixesOnlyRejected() {
    assertThatThrownBy(() -> complete("66 f3")).isInstanceOf(UnsupportedInstructionException.class);
  }

  @Test
  void truncatedInsideSibRejected() {
    assertThatThrownBy(() -> complete("f3 48 0f b8 04"))
        .isInstanceOf(UnsupportedInstructionException.class)
        .hasMessageContaining("f3 48 0f b8 04");
  }

  @Test
  void truncatedInsideDisp8Rejected() {
    assertThatThrownBy(() -> complete("f3 48 0f b8 43"))
        .isInstanceOf(UnsupportedInstructionException.class);
  }

  @Test
  void truncatedInsideDisp32Rejected() {
    assertThatThrownBy(() -> complete("f3 48 0f b8 94 88 00 01"))
        .isInstanceOf(UnsupportedInstructionException.class);
    assertThatThrownBy(() -> complete("f3 48 0f b8 05 20 00"))
        .isInstanceOf(UnsupportedInstructionException.class);
  }

  @Test
  void hexFormatsPairs() {
    assertThat(InstructionCompleter.hex(bytes("f3 48 0f b8 c7"))).isEqualTo("f3 48 0f b8 c7");
    assertThat(InstructionCompleter.hex(new byte[0])).isEmpty();
  }
}
