package dev.kiln.kvm;

/** {@code KVM_CAP_*} numbers for {@code KVM_CHECK_EXTENSION} (linux/kvm.h). */
public final class KvmCapability {
  public static final int KVM_CAP_IRQCHIP = 0;
  public static final int KVM_CAP_USER_MEMORY = 3;
  public static final int KVM_CAP_SET_TSS_ADDR = 4;
  public static final int KVM_CAP_EXT_CPUID = 7;
  public static final int KVM_CAP_NR_VCPUS = 9;
  public static final int KVM_CAP_NR_MEMSLOTS = 10;
  public static final int KVM_CAP_IRQFD = 32;
  public static final int KVM_CAP_PIT2 = 33;
  public static final int KVM_CAP_IOEVENTFD = 36;
  public static final int KVM_CAP_MAX_VCPUS = 66;
  public static final int KVM_CAP_TSC_DEADLINE_TIMER = 72;
  public static final int KVM_CAP_IMMEDIATE_EXIT = 136;

  private KvmCapability() {}
}
