package dev.kiln.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/**
 * Non-blocking Unix stream sockets (unix(7)) as raw descriptors, so that they can sit in an epoll
 * set beside eventfds. Every socket made here has {@code SOCK_NONBLOCK} and {@code SOCK_CLOEXEC}.
 */
public final class UnixSocket {
  /** The address family (sys/socket.h). */
  static final int AF_UNIX = 1;

  /** A byte stream (sys/socket.h). */
  static final int SOCK_STREAM = 1;

  static final int SOCK_NONBLOCK = Syscalls.O_NONBLOCK;
  static final int SOCK_CLOEXEC = Syscalls.O_CLOEXEC;

  /** {@code shutdown(2)}: no more receptions. */
  public static final int SHUT_RD = 0;

  /** {@code shutdown(2)}: no more transmissions. */
  public static final int SHUT_WR = 1;

  /** {@code shutdown(2)}: neither. */
  public static final int SHUT_RDWR = 2;

  /** send(2) flag: a closed peer returns {@code EPIPE} instead of raising SIGPIPE. */
  static final int MSG_NOSIGNAL = 0x4000;

  /** The size of {@code sun_path} in {@code struct sockaddr_un} (sys/un.h). */
  static final int SUN_PATH_SIZE = 108;

  /** The longest socket path in bytes: {@code sun_path} less its terminating NUL. */
  public static final int MAX_PATH_BYTES = SUN_PATH_SIZE - 1;

  private static final int SOCKADDR_UN_SIZE = 2 + SUN_PATH_SIZE;

  private UnixSocket() {}

  /** Returns true when {@code path} fits in {@code sun_path} with its NUL. */
  public static boolean fits(String path) {
    return path.getBytes(StandardCharsets.UTF_8).length <= MAX_PATH_BYTES;
  }

  private static MemorySegment address(Arena arena, String path) throws SyscallException {
    byte[] bytes = path.getBytes(StandardCharsets.UTF_8);
    if (bytes.length > MAX_PATH_BYTES) {
      throw new SyscallException("sockaddr_un(" + path + ")", Errno.ENAMETOOLONG);
    }
    MemorySegment address = arena.allocate(SOCKADDR_UN_SIZE, 2);
    address.set(JAVA_SHORT, 0, (short) AF_UNIX);
    MemorySegment.copy(bytes, 0, address, JAVA_BYTE, 2, bytes.length);
    return address;
  }

  private static int newSocket() throws SyscallException {
    return Syscalls.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  }

  /**
   * Creates a socket file at {@code path} and listens on it.
   *
   * @return the listening descriptor
   * @throws SyscallException naming bind and the path when the file exists ({@code EADDRINUSE}),
   *     its directory is missing or the path is too long
   */
  public static int listen(String path, int backlog) throws SyscallException {
    int fd = newSocket();
    try (Arena arena = Arena.ofConfined()) {
      Syscalls.bind(fd, address(arena, path), SOCKADDR_UN_SIZE, path);
      Syscalls.listen(fd, backlog);
      return fd;
    } catch (SyscallException e) {
      Syscalls.close(fd);
      throw e;
    }
  }

  /** Accepts a waiting connection; returns its non-blocking descriptor, or -1 when none waits. */
  public static int accept(int listener) throws SyscallException {
    return Syscalls.accept4(listener, SOCK_NONBLOCK | SOCK_CLOEXEC);
  }

  /**
   * Connects a new non-blocking socket to the listener at {@code path}. A Unix stream connect
   * completes at once or fails, so the returned socket is connected.
   *
   * @throws SyscallException naming connect and the path, such as {@code ENOENT} when nothing is
   *     there, {@code ECONNREFUSED} when nothing listens, {@code EAGAIN} when its backlog is full
   */
  public static int connect(String path) throws SyscallException {
    int fd = newSocket();
    try (Arena arena = Arena.ofConfined()) {
      Syscalls.connect(fd, address(arena, path), SOCKADDR_UN_SIZE, path);
      return fd;
    } catch (SyscallException e) {
      Syscalls.close(fd);
      throw e;
    }
  }

  /** Creates a connected pair of non-blocking Unix stream sockets; returns both descriptors. */
  public static int[] pair() throws SyscallException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment fds = arena.allocate(JAVA_INT, 2);
      Syscalls.socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds);
      return new int[] {fds.getAtIndex(JAVA_INT, 0), fds.getAtIndex(JAVA_INT, 1)};
    }
  }

  /**
   * Sends up to {@code length} bytes from native memory without raising SIGPIPE; returns the count,
   * or -1 when the socket is full.
   *
   * @throws SyscallException with {@code EPIPE} or {@code ECONNRESET} when the peer has gone
   */
  public static long send(int fd, MemorySegment buffer, long length) throws SyscallException {
    return Syscalls.send(fd, buffer, length, MSG_NOSIGNAL);
  }

  /** Shuts down one or both directions: {@link #SHUT_RD}, {@link #SHUT_WR}, {@link #SHUT_RDWR}. */
  public static void shutdown(int fd, int how) throws SyscallException {
    Syscalls.shutdown(fd, how);
  }
}
