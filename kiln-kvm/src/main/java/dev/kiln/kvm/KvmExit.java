package dev.kiln.kvm;

/** {@code KVM_EXIT_*} reasons and their sub-codes (linux/kvm.h). */
public final class KvmExit {
  public static final int KVM_EXIT_UNKNOWN = 0;
  public static final int KVM_EXIT_EXCEPTION = 1;
  public static final int KVM_EXIT_IO = 2;
  public static final int KVM_EXIT_HYPERCALL = 3;
  public static final int KVM_EXIT_DEBUG = 4;
  public static final int KVM_EXIT_HLT = 5;
  public static final int KVM_EXIT_MMIO = 6;
  public static final int KVM_EXIT_IRQ_WINDOW_OPEN = 7;
  public static final int KVM_EXIT_SHUTDOWN = 8;
  public static final int KVM_EXIT_FAIL_ENTRY = 9;
  public static final int KVM_EXIT_INTR = 10;
  public static final int KVM_EXIT_NMI = 16;
  public static final int KVM_EXIT_INTERNAL_ERROR = 17;
  public static final int KVM_EXIT_SYSTEM_EVENT = 24;

  /** {@code kvm_run.io.direction}: the guest reads the port. */
  public static final int KVM_EXIT_IO_IN = 0;

  /** {@code kvm_run.io.direction}: the guest writes the port. */
  public static final int KVM_EXIT_IO_OUT = 1;

  /** {@code kvm_run.internal.suberror}: the in-kernel emulator could not run an instruction. */
  public static final int KVM_INTERNAL_ERROR_EMULATION = 1;

  /** {@code kvm_run.emulation_failure.flags}: the instruction bytes are present. */
  public static final long KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES = 1;

  /** {@code kvm_run.system_event.type} values. */
  public static final int KVM_SYSTEM_EVENT_SHUTDOWN = 1;

  public static final int KVM_SYSTEM_EVENT_RESET = 2;
  public static final int KVM_SYSTEM_EVENT_CRASH = 3;

  private KvmExit() {}

  /** Returns the name of an exit reason, for logs. */
  public static String name(int reason) {
    return switch (reason) {
      case KVM_EXIT_UNKNOWN -> "KVM_EXIT_UNKNOWN";
      case KVM_EXIT_EXCEPTION -> "KVM_EXIT_EXCEPTION";
      case KVM_EXIT_IO -> "KVM_EXIT_IO";
      case KVM_EXIT_HYPERCALL -> "KVM_EXIT_HYPERCALL";
      case KVM_EXIT_DEBUG -> "KVM_EXIT_DEBUG";
      case KVM_EXIT_HLT -> "KVM_EXIT_HLT";
      case KVM_EXIT_MMIO -> "KVM_EXIT_MMIO";
      case KVM_EXIT_IRQ_WINDOW_OPEN -> "KVM_EXIT_IRQ_WINDOW_OPEN";
      case KVM_EXIT_SHUTDOWN -> "KVM_EXIT_SHUTDOWN";
      case KVM_EXIT_FAIL_ENTRY -> "KVM_EXIT_FAIL_ENTRY";
      case KVM_EXIT_INTR -> "KVM_EXIT_INTR";
      case KVM_EXIT_NMI -> "KVM_EXIT_NMI";
      case KVM_EXIT_INTERNAL_ERROR -> "KVM_EXIT_INTERNAL_ERROR";
      case KVM_EXIT_SYSTEM_EVENT -> "KVM_EXIT_SYSTEM_EVENT";
      default -> "exit reason " + reason;
    };
  }
}
