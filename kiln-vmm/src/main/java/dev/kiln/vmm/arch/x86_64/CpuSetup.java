package dev.kiln.vmm.arch.x86_64;

import dev.kiln.kvm.Regs;
import dev.kiln.kvm.Sregs;
import dev.kiln.kvm.VcpuFd;
import dev.kiln.sys.SyscallException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Puts vCPUs into their boot state: MSRs, FPU and local APIC for every vCPU, and for the boot vCPU
 * the registers its boot protocol requires.
 */
public final class CpuSetup {
  // Control register and EFER bits (Intel SDM vol. 3, 2.5 and 2.2.1).
  static final long CR0_PE = 1;
  static final long CR0_PG = 1L << 31;
  static final long CR4_PAE = 1 << 5;
  static final long EFER_LME = 1 << 8;
  static final long EFER_LMA = 1 << 10;

  /** RFLAGS bit 1 is reserved and always reads as 1. */
  static final long RFLAGS_RESERVED = 0x2;

  // MSR numbers (Intel SDM vol. 4).
  static final int MSR_IA32_TSC = 0x10;
  static final int MSR_IA32_SYSENTER_CS = 0x174;
  static final int MSR_IA32_SYSENTER_ESP = 0x175;
  static final int MSR_IA32_SYSENTER_EIP = 0x176;
  static final int MSR_IA32_MISC_ENABLE = 0x1a0;
  static final int MSR_MTRR_DEF_TYPE = 0x2ff;
  static final int MSR_STAR = 0xc000_0081;
  static final int MSR_LSTAR = 0xc000_0082;
  static final int MSR_CSTAR = 0xc000_0083;
  static final int MSR_SYSCALL_MASK = 0xc000_0084;
  static final int MSR_KERNEL_GS_BASE = 0xc000_0102;
  static final long MISC_ENABLE_FAST_STRING = 1;

  /** MTRRs enabled (bit 11), default memory type write-back (6). */
  static final long MTRR_DEF_TYPE_ENABLED_WRITEBACK = (1 << 11) | 6;

  /** x87 control word after FNINIT: all exceptions masked, 64-bit precision. */
  static final int FPU_CONTROL_WORD = 0x37f;

  /** MXCSR after reset: all SIMD exceptions masked. */
  static final int MXCSR_DEFAULT = 0x1f80;

  // Local APIC register offsets and LVT delivery modes (Intel SDM vol. 3, 11.5.1).
  static final int APIC_LVT_LINT0 = 0x350;
  static final int APIC_LVT_LINT1 = 0x360;
  static final int APIC_MODE_NMI = 0x4;
  static final int APIC_MODE_EXTINT = 0x7;

  private CpuSetup() {}

  /** Returns the MSR values every vCPU starts with. */
  public static Map<Integer, Long> bootMsrs() {
    Map<Integer, Long> msrs = new LinkedHashMap<>();
    msrs.put(MSR_IA32_SYSENTER_CS, 0L);
    msrs.put(MSR_IA32_SYSENTER_ESP, 0L);
    msrs.put(MSR_IA32_SYSENTER_EIP, 0L);
    msrs.put(MSR_STAR, 0L);
    msrs.put(MSR_CSTAR, 0L);
    msrs.put(MSR_KERNEL_GS_BASE, 0L);
    msrs.put(MSR_SYSCALL_MASK, 0L);
    msrs.put(MSR_LSTAR, 0L);
    msrs.put(MSR_IA32_TSC, 0L);
    msrs.put(MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING);
    msrs.put(MSR_MTRR_DEF_TYPE, MTRR_DEF_TYPE_ENABLED_WRITEBACK);
    return msrs;
  }

  /** Sets the MSRs, FPU and local APIC that every vCPU, boot or not, starts with. */
  public static void configureCommon(VcpuFd vcpu) throws SyscallException {
    vcpu.setMsrs(bootMsrs());
    vcpu.setFpu(FPU_CONTROL_WORD, MXCSR_DEFAULT);
    vcpu.setLapic(withLocalInterrupts(vcpu.getLapic()));
  }

  /**
   * Returns the APIC register page with LINT0 set to ExtINT delivery (the PIC's output) and LINT1
   * to NMI delivery, as the MP table's local interrupt entries describe.
   */
  static byte[] withLocalInterrupts(byte[] lapic) {
    ByteBuffer page = ByteBuffer.wrap(lapic).order(ByteOrder.LITTLE_ENDIAN);
    page.putInt(APIC_LVT_LINT0, withDeliveryMode(page.getInt(APIC_LVT_LINT0), APIC_MODE_EXTINT));
    page.putInt(APIC_LVT_LINT1, withDeliveryMode(page.getInt(APIC_LVT_LINT1), APIC_MODE_NMI));
    return lapic;
  }

  // The delivery mode is bits 8-10 of an LVT entry.
  private static int withDeliveryMode(int lvt, int mode) {
    return (lvt & ~0x700) | (mode << 8);
  }

  /**
   * Puts the boot vCPU in 64-bit mode for the Linux 64-bit boot protocol
   * (Documentation/arch/x86/boot.rst): identity paging, flat segments, RSI at the zero page.
   */
  public static void configureLinux64(VcpuFd vcpu, long entry) throws SyscallException {
    Gdt gdt = Gdt.longMode();
    Sregs sregs = vcpu.getSregs();
    applySegments(sregs, gdt);
    sregs.cr3 = Layout.PML4_START;
    sregs.cr4 |= CR4_PAE;
    sregs.cr0 |= CR0_PE | CR0_PG;
    sregs.efer |= EFER_LME | EFER_LMA;
    vcpu.setSregs(sregs);

    Regs regs = new Regs();
    regs.rflags = RFLAGS_RESERVED;
    regs.rip = entry;
    regs.rsp = Layout.BOOT_STACK_POINTER;
    regs.rbp = Layout.BOOT_STACK_POINTER;
    regs.rsi = Layout.ZERO_PAGE_START;
    vcpu.setRegs(regs);
  }

  /**
   * Puts the boot vCPU in 32-bit protected mode without paging for PVH (xen docs/misc/pvh.pandoc):
   * CR0 has only PE set, CR4 is clear, EBX contains the start info's address, RFLAGS has IF, TF and
   * VM clear.
   */
  public static void configurePvh(VcpuFd vcpu, long entry) throws SyscallException {
    Gdt gdt = Gdt.protectedMode();
    Sregs sregs = vcpu.getSregs();
    applySegments(sregs, gdt);
    sregs.cr0 = CR0_PE;
    sregs.cr4 = 0;
    sregs.efer = 0;
    vcpu.setSregs(sregs);

    Regs regs = new Regs();
    regs.rflags = RFLAGS_RESERVED;
    regs.rip = entry;
    regs.rbx = Layout.PVH_INFO_START;
    vcpu.setRegs(regs);
  }

  private static void applySegments(Sregs sregs, Gdt gdt) {
    sregs.gdtBase = Layout.GDT_START;
    sregs.gdtLimit = gdt.limit();
    sregs.idtBase = Layout.IDT_START;
    sregs.idtLimit = 7;
    sregs.cs = gdt.segment(Gdt.CODE_SELECTOR);
    sregs.ds = gdt.segment(Gdt.DATA_SELECTOR);
    sregs.es = gdt.segment(Gdt.DATA_SELECTOR);
    sregs.fs = gdt.segment(Gdt.DATA_SELECTOR);
    sregs.gs = gdt.segment(Gdt.DATA_SELECTOR);
    sregs.ss = gdt.segment(Gdt.DATA_SELECTOR);
    sregs.tr = gdt.segment(Gdt.TSS_SELECTOR);
  }
}
