package dev.kiln.kvm;

/**
 * One CPUID leaf: {@code struct kvm_cpuid_entry2} (linux/kvm.h), 40 bytes.
 *
 * @param function the leaf (EAX input)
 * @param index the subleaf (ECX input), meaningful when {@code flags} has {@link
 *     #KVM_CPUID_FLAG_SIGNIFCANT_INDEX}
 */
public record CpuidEntry(int function, int index, int flags, int eax, int ebx, int ecx, int edx) {
  /** The subleaf index selects the entry (linux/kvm.h spelling). */
  public static final int KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1;

  static final int SIZE = 40;

  /** Returns a copy with new register values. */
  public CpuidEntry withRegisters(int eax, int ebx, int ecx, int edx) {
    return new CpuidEntry(function, index, flags, eax, ebx, ecx, edx);
  }

  @Override
  public String toString() {
    return String.format(
        "leaf %#x.%d: eax=%08x ebx=%08x ecx=%08x edx=%08x", function, index, eax, ebx, ecx, edx);
  }
}
