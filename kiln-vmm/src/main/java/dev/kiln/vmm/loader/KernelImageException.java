package dev.kiln.vmm.loader;

import java.nio.file.Path;

/**
 * A kernel or initrd file that cannot be loaded into guest memory. The message names the file, the
 * value that is wrong and what to change, so it can be shown to the user as it is.
 */
public final class KernelImageException extends Exception {
  private final Path file;

  /** Creates the exception for {@code file} with a message that already names the file. */
  public KernelImageException(Path file, String message) {
    super(message);
    this.file = file;
  }

  /** Creates the exception for {@code file} with a message and the I/O error behind it. */
  public KernelImageException(Path file, String message, Throwable cause) {
    super(message, cause);
    this.file = file;
  }

  /** Returns the kernel or initrd file that failed to load. */
  public Path file() {
    return file;
  }
}
