package dev.kiln.cli.logging;

import dev.kiln.sys.Errno;
import dev.kiln.sys.SyscallException;
import dev.kiln.sys.Syscalls;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

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
    // Symbolic links are followed, so a link to a named pipe is checked like the pipe.
    if (Files.exists(file) && isFifo(file)) {
      return openPipe(path);
    }
    return new FileOutputStream(path, true);
  }

  /**
   * Opens a named pipe for writing without waiting for a reader. A non-blocking open fails at once
   * when no process reads the pipe. While that descriptor stays open, the blocking open through
   * /proc/self/fd cannot wait, because the pipe has a reader, and the reader sees no end of file
   * between the two opens.
   */
  private static OutputStream openPipe(String path) throws IOException {
    int probe;
    try {
      probe = Syscalls.open(path, Syscalls.O_WRONLY | Syscalls.O_NONBLOCK | Syscalls.O_CLOEXEC, 0);
    } catch (SyscallException e) {
      if (e.errno() == Errno.ENXIO) {
        throw new IOException(
            path + " is a named pipe that no process reads; start the reader first", e);
      }
      throw new IOException(path + ": " + e.getMessage(), e);
    }
    try {
      return new FileOutputStream("/proc/self/fd/" + probe, true);
    } finally {
      try {
        Syscalls.close(probe);
      } catch (SyscallException e) {
        // The stream has a descriptor of its own; this one only kept the reader waiting.
      }
    }
  }

  private static boolean isFifo(Path file) throws IOException {
    Object mode = Files.getAttribute(file, "unix:mode");
    // S_IFIFO in the file-type bits of st_mode (sys/stat.h).
    return mode instanceof Integer m && (m & 0170000) == 0010000;
  }
}
