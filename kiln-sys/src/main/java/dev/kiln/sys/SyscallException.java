package dev.kiln.sys;

import java.io.IOException;

/**
 * A failed Linux system call. The message names the call, the request where there is one (an ioctl
 * name, a path), and the errno with its text, for example {@code ioctl(KVM_CREATE_VM) failed:
 * EACCES (Permission denied)}.
 */
public final class SyscallException extends IOException {
  private final String call;
  private final int errno;

  /**
   * Creates the exception for a call that returned an error.
   *
   * @param call the call and its request, such as {@code ioctl(KVM_RUN)} or {@code open(/dev/kvm)}
   * @param errno the value of errno after the call
   */
  public SyscallException(String call, int errno) {
    super(call + " failed: " + Errno.describe(errno));
    this.call = call;
    this.errno = errno;
  }

  /** Returns the call and its request, as given to the constructor. */
  public String call() {
    return call;
  }

  /** Returns the errno value the call left. */
  public int errno() {
    return errno;
  }
}
