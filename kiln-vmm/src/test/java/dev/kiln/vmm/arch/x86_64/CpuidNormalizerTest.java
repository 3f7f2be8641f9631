package dev.kiln.vmm.arch.x86_64;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.kvm.CpuidEntry;
import java.util.List;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CpuidNormalizerTest {
  private static final int INDEXED = CpuidEntry.KVM_CPUID_FLAG_SIGNIFCANT_INDEX;

  // Leaf 1 ECX.
  private static final int SSE3 = 1;
  private static final int VMX = 1 << 5;
  private static final int FMA = 1 << 12;
  private static final int CX16 = 1 << 13;
  private static final int TSC_DEADLINE = 1 << 24;
  private static final int XSAVE = 1 << 26;
  private static final int OSXSAVE = 1 << 27;
  private static final int AVX = 1 << 28;
  private static final int F16C = 1 << 29;
  private static final int HYPERVISOR = 1 << 31;
  // Leaf 1 EDX.
  private static final int FPU = 1;
  private static final int HTT = 1 << 28;

  // Leaf 7 subleaf 0: AVX2 and the AVX-512 family.
  private static final int AVX2 = 1 << 5;
  private static final int AVX512F = 1 << 16;
  private static final int AVX512DQ = 1 << 17;
  private static final int AVX512_IFMA = 1 << 21;
  private static final int AVX512PF = 1 << 26;
  private static final int AVX512ER = 1 << 27;
  private static final int AVX512CD = 1 << 28;
  private static final int AVX512BW = 1 << 30;
  private static final int AVX512VL = 1 << 31;
  private static final int LEAF7_EBX_AVX =
      AVX2
          | AVX512F
          | AVX512DQ
          | AVX512_IFMA
          | AVX512PF
          | AVX512ER
          | AVX512CD
          | AVX512BW
          | AVX512VL;
  // ECX: AVX512_VBMI, AVX512_VBMI2, AVX512_VNNI, AVX512_BITALG, AVX512_VPOPCNTDQ.
  private static final int LEAF7_ECX_AVX = (1 << 1) | (1 << 6) | (1 << 11) | (1 << 12) | (1 << 14);
  // EDX: AVX512_4VNNIW, AVX512_4FMAPS, AVX512_VP2INTERSECT, AVX512_FP16.
  private static final int LEAF7_EDX_AVX = (1 << 2) | (1 << 3) | (1 << 8) | (1 << 23);

  private static final int LEAF1_EBX = 0x0710_0801; // APIC id 7, 16 logical, CLFLUSH 8, brand 1
  private static final int LEAF1_ECX =
      SSE3 | VMX | FMA | CX16 | TSC_DEADLINE | XSAVE | OSXSAVE | AVX | F16C;

  // Leaf 4 EAX: cache type in bits 0-4, level in bits 5-7, self-initializing in bit 8, and host
  // values in the sharing (bits 14-25) and cores (bits 26-31) fields.
  private static final int HOST_LEAF4_FIELDS = (5 << 14) | (9 << 26);

  private static CpuidEntry cache(int subleaf, int type, int level) {
    return new CpuidEntry(
        4,
        subleaf,
        INDEXED,
        type | (level << 5) | (1 << 8) | HOST_LEAF4_FIELDS,
        0x01c0_003f,
        63,
        0);
  }

  /**
   * Returns an Intel host's leaves, with every bit that the normalizer changes set to the other
   * value.
   */
  private static List<CpuidEntry> intelLeaves(int leaf1Ecx, int leaf1Edx) {
    return List.of(
        new CpuidEntry(0, 0, 0, 0xd, 0x756e_6547, 0x6c65_746e, 0x4965_6e69),
        new CpuidEntry(1, 0, 0, 0x0009_06ea, LEAF1_EBX, leaf1Ecx, leaf1Edx),
        cache(0, 1, 1),
        cache(1, 2, 1),
        cache(2, 3, 2),
        cache(3, 3, 3),
        new CpuidEntry(4, 4, INDEXED, 0, 0, 0, 0),
        new CpuidEntry(7, 0, INDEXED, 1, -1, -1, -1),
        new CpuidEntry(7, 1, INDEXED, 0x30, 0, 0, 0),
        new CpuidEntry(0xb, 0, INDEXED, 1, 2, 0x100, 0x33),
        new CpuidEntry(0xb, 1, INDEXED, 6, 48, 0x201, 0x33),
        new CpuidEntry(0xd, 0, INDEXED, 0x2e7, 0xa88, 0xa88, 0),
        new CpuidEntry(0xd, 1, INDEXED, 0xf, 0x998, 0x1900, 0));
  }

  private static List<CpuidEntry> intelLeaves() {
    return intelLeaves(LEAF1_ECX, FPU | HTT);
  }

  private static CpuidEntry leaf(List<CpuidEntry> entries, int function, int index) {
    return entries.stream()
        .filter(e -> e.function() == function && e.index() == index)
        .findFirst()
        .orElseThrow(() -> new AssertionError("no leaf " + function + "." + index));
  }

  private static List<CpuidEntry> normalize(
      int cpus, boolean smt, boolean tscDeadline, boolean hide, int cpuIndex) {
    return new CpuidNormalizer(cpus, smt, tscDeadline, hide).normalize(intelLeaves(), cpuIndex);
  }

  private static int sharingField(CpuidEntry leaf4) {
    return (leaf4.eax() >>> 14) & 0xfff;
  }

  private static int coresField(CpuidEntry leaf4) {
    return leaf4.eax() >>> 26;
  }

  @Test
  void normalizeKeepsLeafOrder() {
    List<CpuidEntry> out = normalize(8, true, true, true, 0);

    assertThat(out)
        .extracting(CpuidEntry::function, CpuidEntry::index)
        .containsExactlyElementsOf(
            intelLeaves().stream().map(e -> Tuple.tuple(e.function(), e.index())).toList());
  }

  @Test
  void vendorLeafUnchanged() {
    assertThat(leaf(normalize(8, true, true, true, 3), 0, 0)).isEqualTo(intelLeaves().getFirst());
  }

  @Test
  void leaf1CarriesApicId() {
    for (int cpu = 0; cpu < 8; cpu++) {
      CpuidEntry leaf1 = leaf(normalize(8, false, true, false, cpu), 1, 0);

      assertThat(leaf1.ebx() >>> 24).as("initial APIC id of vCPU %d", cpu).isEqualTo(cpu);
    }
  }

  @Test
  void leaf1KeepsBrandAndClflush() {
    CpuidEntry leaf1 = leaf(normalize(8, false, true, false, 5), 1, 0);

    assertThat(leaf1.ebx() & 0xffff).isEqualTo(LEAF1_EBX & 0xffff);
    assertThat(leaf1.eax()).as("signature").isEqualTo(0x0009_06ea);
  }

  @Test
  void leaf1LogicalCountForManyCpus() {
    CpuidEntry leaf1 = leaf(normalize(8, false, true, false, 0), 1, 0);

    assertThat((leaf1.ebx() >>> 16) & 0xff).isEqualTo(8);
    assertThat(leaf1.edx() & HTT).as("HTT").isEqualTo(HTT);
  }

  @Test
  void leaf1LogicalCountForOneCpu() {
    CpuidEntry leaf1 = leaf(normalize(1, false, true, false, 0), 1, 0);

    assertThat((leaf1.ebx() >>> 16) & 0xff).isEqualTo(1);
    assertThat(leaf1.edx() & HTT).as("HTT").isZero();
    assertThat(leaf1.edx() & FPU).as("FPU").isEqualTo(FPU);
  }

  @Test
  void leaf1SetsHtt() {
    List<CpuidEntry> host = intelLeaves(LEAF1_ECX, FPU);

    CpuidEntry leaf1 = leaf(new CpuidNormalizer(2, false, true, false).normalize(host, 1), 1, 0);

    assertThat(leaf1.edx() & HTT).isEqualTo(HTT);
  }

  @Test
  void leaf1SetsHypervisorBit() {
    CpuidEntry leaf1 = leaf(normalize(2, false, true, false, 0), 1, 0);

    assertThat(leaf1.ecx() & HYPERVISOR).isEqualTo(HYPERVISOR);
  }

  @Test
  void leaf1ClearsVmxAndOsxsave() {
    CpuidEntry leaf1 = leaf(normalize(2, false, true, false, 0), 1, 0);

    assertThat(leaf1.ecx() & VMX).as("VMX").isZero();
    assertThat(leaf1.ecx() & OSXSAVE).as("OSXSAVE").isZero();
    assertThat(leaf1.ecx() & SSE3).as("SSE3").isEqualTo(SSE3);
  }

  @Test
  void leaf1TscDeadlineOnWhenEmulated() {
    List<CpuidEntry> host = intelLeaves(LEAF1_ECX & ~TSC_DEADLINE, FPU);

    CpuidEntry leaf1 = leaf(new CpuidNormalizer(2, false, true, false).normalize(host, 0), 1, 0);

    assertThat(leaf1.ecx() & TSC_DEADLINE).isEqualTo(TSC_DEADLINE);
  }

  @Test
  void leaf1TscDeadlineOffWhenNotEmulated() {
    CpuidEntry leaf1 = leaf(normalize(2, false, false, false, 0), 1, 0);

    assertThat(leaf1.ecx() & TSC_DEADLINE).isZero();
  }

  @Test
  void hideUnemulatableClearsLeaf1Features() {
    CpuidEntry leaf1 = leaf(normalize(2, false, true, true, 0), 1, 0);

    assertThat(leaf1.ecx() & CX16).as("CX16").isZero();
    assertThat(leaf1.ecx() & XSAVE).as("XSAVE").isZero();
    assertThat(leaf1.ecx() & AVX).as("AVX").isZero();
    assertThat(leaf1.ecx() & FMA).as("FMA").isZero();
    assertThat(leaf1.ecx() & F16C).as("F16C").isZero();
    assertThat(leaf1.ecx() & SSE3).as("SSE3").isEqualTo(SSE3);
  }

  @Test
  void showUnemulatableKeepsLeaf1Features() {
    CpuidEntry leaf1 = leaf(normalize(2, false, true, false, 0), 1, 0);

    assertThat(leaf1.ecx() & CX16).as("CX16").isEqualTo(CX16);
    assertThat(leaf1.ecx() & XSAVE).as("XSAVE").isEqualTo(XSAVE);
    assertThat(leaf1.ecx() & AVX).as("AVX").isEqualTo(AVX);
    assertThat(leaf1.ecx() & FMA).as("FMA").isEqualTo(FMA);
    assertThat(leaf1.ecx() & F16C).as("F16C").isEqualTo(F16C);
  }

  @Test
  void hideUnemulatableClearsLeaf7AvxFamily() {
    CpuidEntry leaf7 = leaf(normalize(2, false, true, true, 0), 7, 0);

    assertThat(leaf7.ebx()).isEqualTo(~LEAF7_EBX_AVX);
    assertThat(leaf7.ecx()).isEqualTo(~LEAF7_ECX_AVX);
    assertThat(leaf7.edx()).isEqualTo(~LEAF7_EDX_AVX);
    assertThat(leaf7.eax()).as("max subleaf").isEqualTo(1);
  }

  @Test
  void showUnemulatableKeepsLeaf7() {
    CpuidEntry leaf7 = leaf(normalize(2, false, true, false, 0), 7, 0);

    assertThat(leaf7).isEqualTo(leaf(intelLeaves(), 7, 0));
  }

  @Test
  void leaf7Subleaf1Unchanged() {
    CpuidEntry subleaf1 = leaf(normalize(2, false, true, true, 0), 7, 1);

    assertThat(subleaf1).isEqualTo(leaf(intelLeaves(), 7, 1));
  }

  @Test
  void hideUnemulatableZeroesLeafD() {
    List<CpuidEntry> out = normalize(2, false, true, true, 0);

    for (int subleaf = 0; subleaf < 2; subleaf++) {
      CpuidEntry leafD = leaf(out, 0xd, subleaf);
      assertThat(leafD.eax()).as("EAX of 0xd.%d", subleaf).isZero();
      assertThat(leafD.ebx()).as("EBX of 0xd.%d", subleaf).isZero();
      assertThat(leafD.ecx()).as("ECX of 0xd.%d", subleaf).isZero();
      assertThat(leafD.edx()).as("EDX of 0xd.%d", subleaf).isZero();
    }
  }

  @Test
  void showUnemulatableKeepsLeafD() {
    List<CpuidEntry> out = normalize(2, false, true, false, 0);

    assertThat(leaf(out, 0xd, 0)).isEqualTo(leaf(intelLeaves(), 0xd, 0));
    assertThat(leaf(out, 0xd, 1)).isEqualTo(leaf(intelLeaves(), 0xd, 1));
  }

  @Test
  void leaf4SharingWithSmt() {
    List<CpuidEntry> out = normalize(8, true, true, false, 0);

    assertThat(sharingField(leaf(out, 4, 0))).as("L1d shared by 2 threads").isEqualTo(1);
    assertThat(sharingField(leaf(out, 4, 1))).as("L1i shared by 2 threads").isEqualTo(1);
    assertThat(sharingField(leaf(out, 4, 2))).as("L2 shared by 2 threads").isEqualTo(1);
    assertThat(sharingField(leaf(out, 4, 3))).as("L3 shared by all 8").isEqualTo(7);
  }

  @Test
  void leaf4SharingWithoutSmt() {
    List<CpuidEntry> out = normalize(8, false, true, false, 0);

    assertThat(sharingField(leaf(out, 4, 0))).as("L1d per thread").isZero();
    assertThat(sharingField(leaf(out, 4, 1))).as("L1i per thread").isZero();
    assertThat(sharingField(leaf(out, 4, 2))).as("L2 per thread").isZero();
    assertThat(sharingField(leaf(out, 4, 3))).as("L3 shared by all 8").isEqualTo(7);
  }

  @Test
  void leaf4CoresWithSmt() {
    List<CpuidEntry> out = normalize(8, true, true, false, 0);

    for (int subleaf = 0; subleaf < 4; subleaf++) {
      assertThat(coresField(leaf(out, 4, subleaf))).as("subleaf %d", subleaf).isEqualTo(3);
    }
  }

  @Test
  void leaf4CoresWithoutSmt() {
    List<CpuidEntry> out = normalize(8, false, true, false, 0);

    for (int subleaf = 0; subleaf < 4; subleaf++) {
      assertThat(coresField(leaf(out, 4, subleaf))).as("subleaf %d", subleaf).isEqualTo(7);
    }
  }

  @Test
  void leaf4KeepsCacheDescription() {
    List<CpuidEntry> out = normalize(8, true, true, false, 0);

    for (int subleaf = 0; subleaf < 4; subleaf++) {
      CpuidEntry before = leaf(intelLeaves(), 4, subleaf);
      CpuidEntry after = leaf(out, 4, subleaf);
      assertThat(after.eax() & 0x3fff)
          .as("EAX[13:0] of 4.%d", subleaf)
          .isEqualTo(before.eax() & 0x3fff);
      assertThat(after.ebx()).as("EBX of 4.%d", subleaf).isEqualTo(before.ebx());
      assertThat(after.ecx()).as("ECX of 4.%d", subleaf).isEqualTo(before.ecx());
    }
  }

  @Test
  void leaf4TerminatingSubleafUnchanged() {
    CpuidEntry last = leaf(normalize(8, true, true, false, 0), 4, 4);

    assertThat(last).isEqualTo(leaf(intelLeaves(), 4, 4));
  }

  @Test
  void leafBCarriesX2ApicId() {
    for (int cpu = 0; cpu < 8; cpu++) {
      List<CpuidEntry> out = normalize(8, true, true, false, cpu);

      assertThat(leaf(out, 0xb, 0).edx()).as("x2APIC id at SMT level, vCPU %d", cpu).isEqualTo(cpu);
      assertThat(leaf(out, 0xb, 1).edx())
          .as("x2APIC id at core level, vCPU %d", cpu)
          .isEqualTo(cpu);
    }
  }

  @Test
  void leafBSmtLevelWithSmt() {
    CpuidEntry smtLevel = leaf(normalize(8, true, true, false, 0), 0xb, 0);

    assertThat(smtLevel.eax()).as("shift to core id").isEqualTo(1);
    assertThat(smtLevel.ebx()).as("threads per core").isEqualTo(2);
    assertThat(smtLevel.ecx() & 0xff).as("level number").isZero();
    assertThat((smtLevel.ecx() >>> 8) & 0xff).as("level type SMT").isEqualTo(1);
  }

  @Test
  void leafBSmtLevelWithoutSmt() {
    CpuidEntry smtLevel = leaf(normalize(8, false, true, false, 0), 0xb, 0);

    assertThat(smtLevel.eax()).as("shift to core id").isZero();
    assertThat(smtLevel.ebx()).as("threads per core").isEqualTo(1);
    assertThat((smtLevel.ecx() >>> 8) & 0xff).as("level type SMT").isEqualTo(1);
  }

  @Test
  void leafBCoreLevel() {
    CpuidEntry coreLevel = leaf(normalize(6, true, true, false, 0), 0xb, 1);

    assertThat(coreLevel.eax()).as("shift to package id").isEqualTo(3);
    assertThat(coreLevel.ebx()).as("logical processors in the package").isEqualTo(6);
    assertThat(coreLevel.ecx() & 0xff).as("level number").isEqualTo(1);
    assertThat((coreLevel.ecx() >>> 8) & 0xff).as("level type core").isEqualTo(2);
  }

  @Test
  void smtOnOneCpuIsOneThread() {
    CpuidNormalizer normalizer = new CpuidNormalizer(1, true, true, false);

    assertThat(normalizer.threadsPerCore()).isEqualTo(1);
    assertThat(leaf(normalizer.normalize(intelLeaves(), 0), 0xb, 0).ebx()).isEqualTo(1);
  }

  @Test
  void amdLeaf4Unchanged() {
    CpuidEntry amdVendor = new CpuidEntry(0, 0, 0, 0x10, 0x6874_7541, 0x444d_4163, 0x6974_6e65);
    CpuidEntry leaf4 = cache(0, 1, 1);

    List<CpuidEntry> out =
        new CpuidNormalizer(8, true, true, false).normalize(List.of(amdVendor, leaf4), 0);

    assertThat(out.get(1)).isEqualTo(leaf4);
  }

  @Test
  void amdCoreCountInExtendedLeaf() {
    CpuidEntry amdVendor = new CpuidEntry(0, 0, 0, 0x10, 0x6874_7541, 0x444d_4163, 0x6974_6e65);
    CpuidEntry sizes = new CpuidEntry(0x8000_0008, 0, 0, 0x3030, 0, 0xffff_ffff, 0);

    List<CpuidEntry> out =
        new CpuidNormalizer(6, false, true, false).normalize(List.of(amdVendor, sizes), 0);

    int ecx = out.get(1).ecx();
    assertThat(ecx & 0xff).as("NC: cores minus one").isEqualTo(5);
    assertThat((ecx >>> 12) & 0xf).as("ApicIdSize").isEqualTo(3);
    assertThat(ecx & ~0xf0ff).as("other bits").isEqualTo(0xffff_ffff & ~0xf0ff);
  }

  @ParameterizedTest
  @CsvSource({
    "1, 0", "2, 1", "3, 2", "4, 2", "5, 3", "8, 3", "9, 4", "16, 4", "17, 5", "32, 5", "33, 6"
  })
  void bitsForCounts(int count, int bits) {
    assertThat(CpuidNormalizer.bitsFor(count)).isEqualTo(bits);
  }
}
