package dev.kiln.vmm.arch.x86_64;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CpuSetupTest {
  /** Size of {@code struct kvm_lapic_state}: the local APIC register page. */
  private static final int LAPIC_SIZE = 0x400;

  private static final int LINT0 = 0x350;
  private static final int LINT1 = 0x360;
  private static final int DELIVERY_MODE = 0x700;
  private static final int EXTINT = 7 << 8;
  private static final int NMI = 4 << 8;

  private static byte[] lapicWith(int lint0, int lint1) {
    ByteBuffer page = ByteBuffer.allocate(LAPIC_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    for (int offset = 0; offset < LAPIC_SIZE; offset += 4) {
      page.putInt(offset, 0x5a5a_5a5a);
    }
    page.putInt(LINT0, lint0);
    page.putInt(LINT1, lint1);
    return page.array();
  }

  private static int register(byte[] lapic, int offset) {
    return ByteBuffer.wrap(lapic).order(ByteOrder.LITTLE_ENDIAN).getInt(offset);
  }

  @Test
  void localInterruptsLint0ExtInt() {
    byte[] lapic = CpuSetup.withLocalInterrupts(lapicWith(0, 0));

    assertThat(register(lapic, LINT0) & DELIVERY_MODE).isEqualTo(EXTINT);
  }

  @Test
  void localInterruptsLint1Nmi() {
    byte[] lapic = CpuSetup.withLocalInterrupts(lapicWith(0, 0));

    assertThat(register(lapic, LINT1) & DELIVERY_MODE).isEqualTo(NMI);
  }

  @Test
  void localInterruptsReplaceOldMode() {
    // Both start in delivery mode 1 with the mask, trigger, polarity and vector bits set.
    int old = 0x0001_a1ee;

    byte[] lapic = CpuSetup.withLocalInterrupts(lapicWith(old, old));

    assertThat(register(lapic, LINT0)).isEqualTo((old & ~DELIVERY_MODE) | EXTINT);
    assertThat(register(lapic, LINT1)).isEqualTo((old & ~DELIVERY_MODE) | NMI);
  }

  @Test
  void localInterruptsLeaveOtherRegisters() {
    byte[] lapic = CpuSetup.withLocalInterrupts(lapicWith(0, 0));

    for (int offset = 0; offset < LAPIC_SIZE; offset += 4) {
      if (offset != LINT0 && offset != LINT1) {
        assertThat(register(lapic, offset)).as("register %#x", offset).isEqualTo(0x5a5a_5a5a);
      }
    }
  }

  @Test
  void bootMsrsContents() {
    Map<Integer, Long> msrs = CpuSetup.bootMsrs();

    assertThat(msrs)
        .containsOnly(
            entry(0x10, 0L), // IA32_TIME_STAMP_COUNTER
            entry(0x174, 0L), // IA32_SYSENTER_CS
            entry(0x175, 0L), // IA32_SYSENTER_ESP
            entry(0x176, 0L), // IA32_SYSENTER_EIP
            entry(0x1a0, 1L), // IA32_MISC_ENABLE: fast strings
            entry(0x2ff, 0x806L), // IA32_MTRR_DEF_TYPE: enabled, write-back
            entry(0xc000_0081, 0L), // STAR
            entry(0xc000_0082, 0L), // LSTAR
            entry(0xc000_0083, 0L), // CSTAR
            entry(0xc000_0084, 0L), // SYSCALL_MASK
            entry(0xc000_0102, 0L)); // KERNEL_GS_BASE
  }
}
