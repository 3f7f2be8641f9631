package dev.kiln.sys;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * An epoll instance (epoll(7)). Each registered descriptor carries a 64-bit token that {@link
 * #await} returns when the descriptor is ready.
 */
public final class Epoll implements AutoCloseable {
  /** Readiness for reading (sys/epoll.h). */
  public static final int EPOLLIN = 0x001;

  /** Readiness for writing. */
  public static final int EPOLLOUT = 0x004;

  /** An error on the descriptor. */
  public static final int EPOLLERR = 0x008;

  /** The other end hung up. */
  public static final int EPOLLHUP = 0x010;

  private static final int EPOLL_CTL_ADD = 1;
  private static final int EPOLL_CTL_DEL = 2;
  private static final int EPOLL_CTL_MOD = 3;

  // struct epoll_event is packed on x86_64: u32 events, then u64 data.
  private static final int EVENT_SIZE = 12;
  private static final int MAX_EVENTS = 64;

  private final int fd;
  private final Arena arena = Arena.ofShared();
  private final MemorySegment events = arena.allocate((long) EVENT_SIZE * MAX_EVENTS, 8);
  private final MemorySegment request = arena.allocate(EVENT_SIZE, 8);

  /** Creates an epoll instance. */
  public Epoll() throws SyscallException {
    this.fd = Syscalls.epollCreate();
  }

  /** Registers {@code target} for the {@code interest} events, tagged with {@code token}. */
  public synchronized void add(int target, int interest, long token) throws SyscallException {
    request.set(JAVA_INT_UNALIGNED, 0, interest);
    request.set(JAVA_LONG_UNALIGNED, 4, token);
    Syscalls.epollCtl(fd, EPOLL_CTL_ADD, target, request);
  }

  /** Changes the events a registered {@code target} waits for, keeping its token. */
  public synchronized void modify(int target, int interest, long token) throws SyscallException {
    request.set(JAVA_INT_UNALIGNED, 0, interest);
    request.set(JAVA_LONG_UNALIGNED, 4, token);
    Syscalls.epollCtl(fd, EPOLL_CTL_MOD, target, request);
  }

  /** Removes {@code target} from the set. */
  public synchronized void remove(int target) throws SyscallException {
    Syscalls.epollCtl(fd, EPOLL_CTL_DEL, target, request);
  }

  /** A ready descriptor's token and the events that fired. */
  public record Ready(long token, int events) {}

  /** Receives ready descriptors; see {@link #await}. */
  @FunctionalInterface
  public interface Handler {
    /** Handles one ready descriptor. */
    void ready(Ready ready);
  }

  /**
   * Waits up to {@code timeoutMillis} (-1 for no limit) and passes each ready descriptor to {@code
   * handler}; returns how many there were. Call it from one thread only.
   */
  public int await(int timeoutMillis, Handler handler) throws SyscallException {
    int count = Syscalls.epollWait(fd, events, MAX_EVENTS, timeoutMillis);
    for (int i = 0; i < count; i++) {
      long offset = (long) i * EVENT_SIZE;
      handler.ready(
          new Ready(
              events.get(JAVA_LONG_UNALIGNED, offset + 4), events.get(JAVA_INT_UNALIGNED, offset)));
    }
    return count;
  }

  @Override
  public void close() throws SyscallException {
    Syscalls.close(fd);
  }
}
