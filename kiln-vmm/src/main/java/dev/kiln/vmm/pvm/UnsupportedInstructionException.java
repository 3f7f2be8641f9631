package dev.kiln.vmm.pvm;

/** An instruction that the host could not emulate and that Kiln cannot complete either. */
public final class UnsupportedInstructionException extends Exception {
  /** Creates the exception; the message names the instruction and the reason. */
  public UnsupportedInstructionException(String message) {
    super(message);
  }
}
