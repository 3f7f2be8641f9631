package dev.kiln.kvm;

/**
 * KVM ioctl request numbers, built the way the kernel's {@code _IO}, {@code _IOR}, {@code _IOW} and
 * {@code _IOWR} macros build them (asm-generic/ioctl.h), from the definitions in linux/kvm.h.
 */
public final class KvmIoctls {
  private static final int KVMIO = 0xAE;
  private static final int IOC_NONE = 0;
  private static final int IOC_WRITE = 1;
  private static final int IOC_READ = 2;

  /** {@code _IO(KVMIO, 0x00)}. */
  public static final long KVM_GET_API_VERSION = io(0x00);

  /** {@code _IO(KVMIO, 0x01)}. */
  public static final long KVM_CREATE_VM = io(0x01);

  /** {@code _IOWR(KVMIO, 0x02, struct kvm_msr_list)}: a 4-byte header. */
  public static final long KVM_GET_MSR_INDEX_LIST = iowr(0x02, 4);

  /** {@code _IO(KVMIO, 0x03)}. */
  public static final long KVM_CHECK_EXTENSION = io(0x03);

  /** {@code _IO(KVMIO, 0x04)}. */
  public static final long KVM_GET_VCPU_MMAP_SIZE = io(0x04);

  /** {@code _IOWR(KVMIO, 0x05, struct kvm_cpuid2)}: an 8-byte header. */
  public static final long KVM_GET_SUPPORTED_CPUID = iowr(0x05, 8);

  /** {@code _IO(KVMIO, 0x41)}. */
  public static final long KVM_CREATE_VCPU = io(0x41);

  /** {@code _IOW(KVMIO, 0x46, struct kvm_userspace_memory_region)}: 32 bytes. */
  public static final long KVM_SET_USER_MEMORY_REGION = iow(0x46, 32);

  /** {@code _IO(KVMIO, 0x47)}. */
  public static final long KVM_SET_TSS_ADDR = io(0x47);

  /** {@code _IOW(KVMIO, 0x48, __u64)}. */
  public static final long KVM_SET_IDENTITY_MAP_ADDR = iow(0x48, 8);

  /** {@code _IO(KVMIO, 0x60)}. */
  public static final long KVM_CREATE_IRQCHIP = io(0x60);

  /** {@code _IOW(KVMIO, 0x61, struct kvm_irq_level)}: 8 bytes. */
  public static final long KVM_IRQ_LINE = iow(0x61, 8);

  /** {@code _IOW(KVMIO, 0x76, struct kvm_irqfd)}: 32 bytes. */
  public static final long KVM_IRQFD = iow(0x76, 32);

  /** {@code _IOW(KVMIO, 0x77, struct kvm_pit_config)}: 64 bytes. */
  public static final long KVM_CREATE_PIT2 = iow(0x77, 64);

  /** {@code _IOW(KVMIO, 0x79, struct kvm_ioeventfd)}: 64 bytes. */
  public static final long KVM_IOEVENTFD = iow(0x79, 64);

  /** {@code _IO(KVMIO, 0x80)}. */
  public static final long KVM_RUN = io(0x80);

  /** {@code _IOR(KVMIO, 0x81, struct kvm_regs)}: 144 bytes. */
  public static final long KVM_GET_REGS = ior(0x81, Regs.SIZE);

  /** {@code _IOW(KVMIO, 0x82, struct kvm_regs)}. */
  public static final long KVM_SET_REGS = iow(0x82, Regs.SIZE);

  /** {@code _IOR(KVMIO, 0x83, struct kvm_sregs)}: 312 bytes. */
  public static final long KVM_GET_SREGS = ior(0x83, Sregs.SIZE);

  /** {@code _IOW(KVMIO, 0x84, struct kvm_sregs)}. */
  public static final long KVM_SET_SREGS = iow(0x84, Sregs.SIZE);

  /** {@code _IOWR(KVMIO, 0x85, struct kvm_translation)}: 24 bytes. */
  public static final long KVM_TRANSLATE = iowr(0x85, 24);

  /** {@code _IOWR(KVMIO, 0x88, struct kvm_msrs)}: an 8-byte header. */
  public static final long KVM_GET_MSRS = iowr(0x88, 8);

  /** {@code _IOW(KVMIO, 0x89, struct kvm_msrs)}. */
  public static final long KVM_SET_MSRS = iow(0x89, 8);

  /** {@code _IOR(KVMIO, 0x8c, struct kvm_fpu)}: 416 bytes. */
  public static final long KVM_GET_FPU = ior(0x8c, 416);

  /** {@code _IOW(KVMIO, 0x8d, struct kvm_fpu)}. */
  public static final long KVM_SET_FPU = iow(0x8d, 416);

  /** {@code _IOR(KVMIO, 0x8e, struct kvm_lapic_state)}: 1024 bytes. */
  public static final long KVM_GET_LAPIC = ior(0x8e, 1024);

  /** {@code _IOW(KVMIO, 0x8f, struct kvm_lapic_state)}. */
  public static final long KVM_SET_LAPIC = iow(0x8f, 1024);

  /** {@code _IOW(KVMIO, 0x90, struct kvm_cpuid2)}: an 8-byte header. */
  public static final long KVM_SET_CPUID2 = iow(0x90, 8);

  /** {@code _IOR(KVMIO, 0x9f, struct kvm_vcpu_events)}: 64 bytes. */
  public static final long KVM_GET_VCPU_EVENTS = ior(0x9f, 64);

  /** {@code _IOW(KVMIO, 0xa0, struct kvm_vcpu_events)}. */
  public static final long KVM_SET_VCPU_EVENTS = iow(0xa0, 64);

  /** {@code _IO(KVMIO, 0xa3)}. */
  public static final long KVM_GET_TSC_KHZ = io(0xa3);

  private KvmIoctls() {}

  // asm-generic/ioctl.h: nr in bits 0-7, type in 8-15, size in 16-29, direction in 30-31.
  static long ioc(int direction, int nr, int size) {
    return ((long) direction << 30) | ((long) size << 16) | ((long) KVMIO << 8) | nr;
  }

  private static long io(int nr) {
    return ioc(IOC_NONE, nr, 0);
  }

  private static long ior(int nr, int size) {
    return ioc(IOC_READ, nr, size);
  }

  private static long iow(int nr, int size) {
    return ioc(IOC_WRITE, nr, size);
  }

  private static long iowr(int nr, int size) {
    return ioc(IOC_READ | IOC_WRITE, nr, size);
  }
}
