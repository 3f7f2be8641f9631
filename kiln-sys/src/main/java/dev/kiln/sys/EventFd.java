package dev.kiln.sys;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** A Linux eventfd (eventfd(2)): a 64-bit counter that one side adds to and the other drains. */
public final class EventFd implements AutoCloseable {
  /** eventfd(2) flag: reads and writes do not block. */
  public static final int EFD_NONBLOCK = Syscalls.O_NONBLOCK;

  /** eventfd(2) flag: the descriptor closes on exec. */
  public static final int EFD_CLOEXEC = Syscalls.O_CLOEXEC;

  private final int fd;
  private final MemorySegment buffer = Arena.ofAuto().allocate(JAVA_LONG);
  private volatile boolean closed;

  /** Creates a non-blocking eventfd with a count of zero. */
  public EventFd() throws SyscallException {
    this.fd = Syscalls.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  }

  /** Returns the file descriptor, for registration with KVM or epoll. */
  public int fd() {
    return fd;
  }

  /** Adds one to the counter, waking a reader. */
  public synchronized void signal() throws SyscallException {
    buffer.set(JAVA_LONG, 0, 1L);
    Syscalls.write(fd, buffer, Long.BYTES);
  }

  /** Reads and resets the counter; returns 0 when it was already zero. */
  public synchronized long drain() throws SyscallException {
    long read = Syscalls.read(fd, buffer, Long.BYTES);
    return read == Long.BYTES ? buffer.get(JAVA_LONG, 0) : 0;
  }

  @Override
  public void close() throws SyscallException {
    if (!closed) {
      closed = true;
      Syscalls.close(fd);
    }
  }
}
