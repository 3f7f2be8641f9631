package dev.kiln.vmm.arch.x86_64;

import dev.kiln.kvm.CpuidEntry;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns the CPUID leaves that KVM supports on the host into the leaves one vCPU sees: its APIC id,
 * the package topology (threads per core from {@code smt}, cores from the vCPU count), shared
 * caches, the hypervisor bit, and with {@code hideUnemulatable} the features a PVM host cannot
 * emulate. Leaf and bit numbers are from the Intel SDM vol. 2A, CPUID, and AMD's APM vol. 3.
 */
public final class CpuidNormalizer {
  // Leaf 1.
  static final int LEAF1_ECX_VMX = 1 << 5;
  static final int LEAF1_ECX_CX16 = 1 << 13;
  static final int LEAF1_ECX_TSC_DEADLINE = 1 << 24;
  static final int LEAF1_ECX_XSAVE = 1 << 26;
  static final int LEAF1_ECX_OSXSAVE = 1 << 27;
  static final int LEAF1_ECX_AVX = 1 << 28;
  static final int LEAF1_ECX_F16C = 1 << 29;
  static final int LEAF1_ECX_FMA = 1 << 12;
  static final int LEAF1_ECX_HYPERVISOR = 1 << 31;
  static final int LEAF1_EDX_HTT = 1 << 28;
  // Leaf 7 subleaf 0: AVX2 and the AVX-512 family, which need XSAVE state.
  static final int LEAF7_EBX_AVX_FAMILY =
      (1 << 5) | (1 << 16) | (1 << 17) | (1 << 21) | (1 << 26) | (1 << 27) | (1 << 28) | (1 << 30)
          | (1 << 31);
  static final int LEAF7_ECX_AVX_FAMILY = (1 << 1) | (1 << 6) | (1 << 11) | (1 << 12) | (1 << 14);
  static final int LEAF7_EDX_AVX_FAMILY = (1 << 2) | (1 << 3) | (1 << 8) | (1 << 23);
  // Leaf 0xb and 0x1f level types.
  static final int LEVEL_TYPE_SMT = 1;
  static final int LEVEL_TYPE_CORE = 2;

  private final int cpuCount;
  private final boolean smt;
  private final boolean tscDeadline;
  private final boolean hideUnemulatable;

  /**
   * @param cpuCount the number of vCPUs in the VM
   * @param smt whether vCPUs pair up as two threads of one core
   * @param tscDeadline whether KVM emulates the TSC-deadline timer
   * @param hideUnemulatable whether to hide CX16, XSAVE and the AVX family (PVM hosts)
   */
  public CpuidNormalizer(int cpuCount, boolean smt, boolean tscDeadline, boolean hideUnemulatable) {
    this.cpuCount = cpuCount;
    this.smt = smt;
    this.tscDeadline = tscDeadline;
    this.hideUnemulatable = hideUnemulatable;
  }

  /** Returns the threads per core: 2 with SMT on and more than one vCPU, else 1. */
  public int threadsPerCore() {
    return smt && cpuCount > 1 ? 2 : 1;
  }

  /** Returns the leaves for the vCPU whose APIC id is {@code cpuIndex}. */
  public List<CpuidEntry> normalize(List<CpuidEntry> supported, int cpuIndex) {
    boolean amd = isAmd(supported);
    List<CpuidEntry> out = new ArrayList<>(supported.size());
    for (CpuidEntry e : supported) {
      out.add(
          switch (e.function()) {
            case 0x1 -> leaf1(e, cpuIndex);
            case 0x4 -> amd ? e : leaf4(e);
            case 0x7 -> e.index() == 0 ? leaf7(e) : e;
            case 0xb, 0x1f -> extendedTopology(e, cpuIndex);
            case 0xd -> hideUnemulatable ? e.withRegisters(0, 0, 0, 0) : e;
            case 0x8000_0008 -> amd ? amdCoreCount(e) : e;
            default -> e;
          });
    }
    return out;
  }

  private static boolean isAmd(List<CpuidEntry> entries) {
    for (CpuidEntry e : entries) {
      if (e.function() == 0) {
        // "AuthenticAMD" is EBX "Auth", EDX "enti", ECX "cAMD".
        return e.ebx() == 0x68747541 && e.edx() == 0x69746e65 && e.ecx() == 0x444d4163;
      }
    }
    return false;
  }

  private CpuidEntry leaf1(CpuidEntry e, int cpuIndex) {
    int ebx = (e.ebx() & 0x0000_ffff) | (cpuIndex << 24);
    int edx = e.edx();
    if (cpuCount > 1) {
      ebx |= (cpuCount & 0xff) << 16;
      edx |= LEAF1_EDX_HTT;
    } else {
      ebx |= 1 << 16;
      edx &= ~LEAF1_EDX_HTT;
    }
    int ecx = e.ecx() | LEAF1_ECX_HYPERVISOR;
    ecx &= ~(LEAF1_ECX_VMX | LEAF1_ECX_OSXSAVE);
    ecx = tscDeadline ? ecx | LEAF1_ECX_TSC_DEADLINE : ecx & ~LEAF1_ECX_TSC_DEADLINE;
    if (hideUnemulatable) {
      ecx &= ~(LEAF1_ECX_CX16 | LEAF1_ECX_XSAVE | LEAF1_ECX_AVX | LEAF1_ECX_F16C | LEAF1_ECX_FMA);
    }
    return e.withRegisters(e.eax(), ebx, ecx, edx);
  }

  // Deterministic cache parameters: EAX[25:14] threads sharing the cache minus one, EAX[31:26]
  // cores per package minus one.
  private CpuidEntry leaf4(CpuidEntry e) {
    int cacheLevel = (e.eax() >>> 5) & 0x7;
    if ((e.eax() & 0x1f) == 0) {
      return e; // no more caches
    }
    int sharing = cacheLevel <= 2 ? threadsPerCore() : cpuCount;
    int coresPerPackage = Math.max(1, cpuCount / threadsPerCore());
    int eax = e.eax() & 0x3fff;
    eax |= ((sharing - 1) & 0xfff) << 14;
    eax |= ((coresPerPackage - 1) & 0x3f) << 26;
    return e.withRegisters(eax, e.ebx(), e.ecx(), e.edx());
  }

  private CpuidEntry leaf7(CpuidEntry e) {
    if (!hideUnemulatable) {
      return e;
    }
    return e.withRegisters(
        e.eax(),
        e.ebx() & ~LEAF7_EBX_AVX_FAMILY,
        e.ecx() & ~LEAF7_ECX_AVX_FAMILY,
        e.edx() & ~LEAF7_EDX_AVX_FAMILY);
  }

  // Extended topology: level 0 is SMT, level 1 is core; EAX is the APIC id shift to the next
  // level, EBX the logical processors at this level, ECX the level number and type, EDX the
  // x2APIC id.
  private CpuidEntry extendedTopology(CpuidEntry e, int cpuIndex) {
    int threadShift = threadsPerCore() > 1 ? 1 : 0;
    int packageShift = bitsFor(cpuCount);
    return switch (e.index()) {
      case 0 -> e.withRegisters(threadShift, threadsPerCore(), (LEVEL_TYPE_SMT << 8), cpuIndex);
      case 1 -> e.withRegisters(packageShift, cpuCount, 1 | (LEVEL_TYPE_CORE << 8), cpuIndex);
      default -> e.withRegisters(0, 0, e.index() & 0xff, cpuIndex);
    };
  }

  // AMD leaf 0x80000008 ECX: NC (bits 0-7) is the core count minus one, ApicIdSize in bits 12-15.
  private CpuidEntry amdCoreCount(CpuidEntry e) {
    int ecx = (e.ecx() & ~0xf0ff) | ((cpuCount - 1) & 0xff) | (bitsFor(cpuCount) << 12);
    return e.withRegisters(e.eax(), e.ebx(), ecx, e.edx());
  }

  /** Returns the number of bits needed to number {@code count} items: ceil(log2(count)). */
  static int bitsFor(int count) {
    return count <= 1 ? 0 : 32 - Integer.numberOfLeadingZeros(count - 1);
  }
}
