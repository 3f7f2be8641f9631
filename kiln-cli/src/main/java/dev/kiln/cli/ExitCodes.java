package dev.kiln.cli;

/** Process exit statuses, the same numbers Firecracker uses for the same cases. */
public final class ExitCodes {
  /** The VM ran and stopped normally: guest reset or power-off, SIGTERM, SIGINT. */
  public static final int OK = 0;

  /** A vCPU failed, or the guest reported a crash. */
  public static final int GENERIC_ERROR = 1;

  /** The configuration is invalid, or the VM it describes could not be built. */
  public static final int BAD_CONFIGURATION = 152;

  /** The command-line arguments are invalid. */
  public static final int ARG_PARSING = 153;

  private ExitCodes() {}
}
