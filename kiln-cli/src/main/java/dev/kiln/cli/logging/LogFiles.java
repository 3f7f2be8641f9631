package dev.kiln.cli.logging;

import dev.kiln.sys.Errno;
import dev.kiln.sys.SyscallException;
import dev.kiln.sys.Syscalls;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;

/**
 * Opens the files Kiln writes to (log, serial output), which may be named pipes. Opening a named
 * pipe for writing blocks until a reader opens it, so Kiln first tries a non-blocking open, which
 * fails at once when no process reads the pipe, and reports that instead of hanging.
 */
public final class LogFiles {
  private LogFiles() {}

  /**
   * Opens {@code path} for appending, creating a regular file when it does not exist.
   *
   * @throws IOException naming the path when it cannot be opened, or when it is a named pipe that
   *     no process reads
   */
  public static OutputStream openForAppend(String path) throws IOException {
    Path file = Path.of(path);
    if (Files.exists(file)) {
      PosixFileAttributes attributes =
          Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      if (attributes.isOther() && isFifo(file)) {
        checkPipeHasReader(path);
      }
    }
    return new FileOutputStream(path, true);
  }

  private static boolean isFifo(Path file) throws IOException {
    Object mode = Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    // S_IFIFO in the file-type bits of st_mode (sys/stat.h).
    return mode instanceof Integer m && (m & 0170000) == 0010000;
  }

  private static void checkPipeHasReader(String path) throws IOException {
    try {
      int fd = Syscalls.open(path, Syscalls.O_WRONLY | Syscalls.O_NONBLOCK | Syscalls.O_CLOEXEC, 0);
      Syscalls.close(fd);
    } catch (SyscallException e) {
      if (e.errno() == Errno.ENXIO) {
        throw new IOException(
            path + " is a named pipe that no process reads; start the reader first", e);
      }
      throw new IOException(path + ": " + e.getMessage(), e);
    }
  }
}
