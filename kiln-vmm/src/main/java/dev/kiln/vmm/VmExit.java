package dev.kiln.vmm;

/**
 * Why a VM stopped, and the process exit status that goes with it.
 *
 * @param reason the kind of stop
 * @param detail a sentence for the log, such as which vCPU failed and why
 */
public record VmExit(Reason reason, String detail) {
  /** The kinds of stop. */
  public enum Reason {
    /** The guest reset the machine: i8042 reset, triple fault or a KVM reset event. */
    GUEST_RESET(0),
    /** The guest powered the machine off through KVM's shutdown event. */
    GUEST_POWER_OFF(0),
    /** SIGTERM or SIGINT asked Kiln to stop. */
    SIGNAL(0),
    /** The guest kernel reported a crash through KVM's crash event. */
    GUEST_CRASH(1),
    /** A vCPU hit an error that Kiln cannot recover from. */
    VCPU_FAILURE(1);

    private final int exitStatus;

    Reason(int exitStatus) {
      this.exitStatus = exitStatus;
    }

    /** Returns the process exit status for this kind of stop. */
    public int exitStatus() {
      return exitStatus;
    }
  }

  /** Returns the process exit status. */
  public int exitStatus() {
    return reason.exitStatus();
  }
}
