package dev.kiln.vmm.pvm;

/** An instruction that the host could not emulate and that Kiln cannot complete either. */
public final class UnsupportedInstructionException extends Exception {
  /** Creates the exception; the message says which instruction and why. */
  public UnsupportedInstructionException(String message) {
    super(message);
  }
}
