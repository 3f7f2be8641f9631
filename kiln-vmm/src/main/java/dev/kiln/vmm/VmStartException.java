package dev.kiln.vmm;

/** The VM could not be built or started; the message names what failed and what to do. */
public final class VmStartException extends Exception {
  /** Creates the exception with a message for the user. */
  public VmStartException(String message) {
    super(message);
  }

  /** Creates the exception with a message for the user and the error behind it. */
  public VmStartException(String message, Throwable cause) {
    super(message, cause);
  }
}
