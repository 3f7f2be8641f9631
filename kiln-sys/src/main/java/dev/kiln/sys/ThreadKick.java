package dev.kiln.sys;

/**
 * Interrupts a thread blocked in a system call, such as a vCPU thread inside {@code KVM_RUN}, with
 * a real-time signal whose handler does nothing. The blocked call then returns {@code EINTR}; other
 * calls restart because the handler is installed with {@code SA_RESTART}.
 */
public final class ThreadKick {
  private static volatile int signal;

  private ThreadKick() {}

  /**
   * Installs the handler once per process and returns the signal number. The handler is the C
   * library's {@code abs(int)}: a signal handler's only duty here is to exist, so that the signal
   * interrupts the call instead of being ignored or killing the process, and {@code abs} reads
   * nothing but its argument. A handler written in Java would run as an upcall at a point where the
   * thread may be inside Java code, which the JVM does not allow.
   */
  public static synchronized int install() throws SyscallException {
    if (signal == 0) {
      // SIGRTMIN + 4 stays clear of the signals that the JVM and the C library use.
      int chosen = Syscalls.sigrtmin() + 4;
      Syscalls.sigaction(chosen, Syscalls.libcSymbol("abs"));
      signal = chosen;
    }
    return signal;
  }

  /** Sends the kick signal to a thread whose handle came from {@link Syscalls#pthreadSelf()}. */
  public static void kick(long pthread) throws SyscallException {
    Syscalls.pthreadKill(pthread, install());
  }
}
