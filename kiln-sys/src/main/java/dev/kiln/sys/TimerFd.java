package dev.kiln.sys;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A Linux timerfd (timerfd_create(2)) on {@code CLOCK_MONOTONIC}, used as a one-shot timer: it
 * becomes readable once the time set by {@link #arm} has passed, until {@link #drain} reads it.
 */
public final class TimerFd implements AutoCloseable {
  /** clock_gettime(2) clock id from linux/time.h: a clock that never jumps. */
  public static final int CLOCK_MONOTONIC = 1;

  /** timerfd_create(2) flag: reads do not block. */
  public static final int TFD_NONBLOCK = Syscalls.O_NONBLOCK;

  /** timerfd_create(2) flag: the descriptor closes on exec. */
  public static final int TFD_CLOEXEC = Syscalls.O_CLOEXEC;

  private static final long NANOS_PER_SECOND = 1_000_000_000L;

  /** {@code struct itimerspec}: two {@code struct timespec}, each two 64-bit fields. */
  private static final long ITIMERSPEC_SIZE = 4 * Long.BYTES;

  private static final long IT_VALUE_SECONDS = 2 * Long.BYTES;
  private static final long IT_VALUE_NANOS = 3 * Long.BYTES;

  private final int fd;
  private final MemorySegment spec = Arena.ofAuto().allocate(ITIMERSPEC_SIZE, Long.BYTES);
  private final MemorySegment buffer = Arena.ofAuto().allocate(JAVA_LONG);
  private volatile boolean closed;

  /**
   * Creates a disarmed, non-blocking timer.
   *
   * @throws SyscallException naming {@code timerfd_create} when the kernel refuses one
   */
  public TimerFd() throws SyscallException {
    this.fd = Syscalls.timerfdCreate(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  }

  /** Returns the file descriptor, for registration with epoll. */
  public int fd() {
    return fd;
  }

  /**
   * Arms the timer to expire once, {@code delayNanos} nanoseconds from now, replacing any earlier
   * setting. A delay of 0 or less is raised to 1 ns, because a zero it_value disarms the timer.
   *
   * @throws SyscallException naming {@code timerfd_settime} when the call fails
   */
  public synchronized void arm(long delayNanos) throws SyscallException {
    long delay = Math.max(1, delayNanos);
    spec.fill((byte) 0);
    spec.set(JAVA_LONG, IT_VALUE_SECONDS, delay / NANOS_PER_SECOND);
    spec.set(JAVA_LONG, IT_VALUE_NANOS, delay % NANOS_PER_SECOND);
    Syscalls.timerfdSettime(fd, spec);
  }

  /**
   * Disarms the timer.
   *
   * @throws SyscallException naming {@code timerfd_settime} when the call fails
   */
  public synchronized void disarm() throws SyscallException {
    spec.fill((byte) 0);
    Syscalls.timerfdSettime(fd, spec);
  }

  /**
   * Reads and resets the expiry count.
   *
   * @return how many times the timer expired since the last read, 0 when it has not
   * @throws SyscallException naming {@code read} when the call fails
   */
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
