package dev.kiln.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Puts a terminal into raw mode and back (termios(3)), so that a guest's serial console receives
 * every key as typed, Ctrl-C included, as Firecracker does for its standard input.
 */
public final class Terminal {
  /** Size of glibc's {@code struct termios} on x86_64, with room to spare. */
  private static final int TERMIOS_SIZE = 64;

  private static final int TCSANOW = 0;

  private static final Linker LINKER = Linker.nativeLinker();
  private static final MethodHandle ISATTY =
      LINKER.downcallHandle(
          LINKER.defaultLookup().findOrThrow("isatty"), FunctionDescriptor.of(JAVA_INT, JAVA_INT));
  private static final MethodHandle TCGETATTR =
      LINKER.downcallHandle(
          LINKER.defaultLookup().findOrThrow("tcgetattr"),
          FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
  private static final MethodHandle TCSETATTR =
      LINKER.downcallHandle(
          LINKER.defaultLookup().findOrThrow("tcsetattr"),
          FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
  private static final MethodHandle CFMAKERAW =
      LINKER.downcallHandle(
          LINKER.defaultLookup().findOrThrow("cfmakeraw"), FunctionDescriptor.ofVoid(ADDRESS));

  private final int fd;
  private final MemorySegment saved;

  private Terminal(int fd, MemorySegment saved) {
    this.fd = fd;
    this.saved = saved;
  }

  /** Returns true when the descriptor is a terminal. */
  public static boolean isTerminal(int fd) {
    try {
      return (int) ISATTY.invokeExact(fd) == 1;
    } catch (Throwable t) {
      return false;
    }
  }

  /**
   * Switches the terminal on {@code fd} to raw mode and returns a handle that restores the previous
   * settings, or null when {@code fd} is not a terminal or its settings cannot be read.
   */
  public static Terminal makeRaw(int fd) {
    if (!isTerminal(fd)) {
      return null;
    }
    MemorySegment saved = Arena.global().allocate(TERMIOS_SIZE, 8);
    try (Arena arena = Arena.ofConfined()) {
      if ((int) TCGETATTR.invokeExact(fd, saved) != 0) {
        return null;
      }
      MemorySegment raw = arena.allocate(TERMIOS_SIZE, 8);
      raw.copyFrom(saved);
      CFMAKERAW.invokeExact(raw);
      if ((int) TCSETATTR.invokeExact(fd, TCSANOW, raw) != 0) {
        return null;
      }
    } catch (Throwable t) {
      return null;
    }
    return new Terminal(fd, saved);
  }

  /** Restores the settings the terminal had before {@link #makeRaw}. */
  public void restore() {
    try {
      int ignored = (int) TCSETATTR.invokeExact(fd, TCSANOW, saved);
    } catch (Throwable t) {
      // Nothing more can be done for a terminal that went away.
    }
  }
}
