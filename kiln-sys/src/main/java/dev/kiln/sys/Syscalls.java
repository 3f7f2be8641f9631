package dev.kiln.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The C library calls Kiln makes, as Foreign Function and Memory downcalls. Each wrapper captures
 * errno right after the call and turns a failure into a {@link SyscallException} that names the
 * call.
 */
public final class Syscalls {
  // fcntl.h
  public static final int O_RDONLY = 0;
  public static final int O_WRONLY = 1;
  public static final int O_RDWR = 2;
  public static final int O_CREAT = 0100;
  public static final int O_TRUNC = 01000;
  public static final int O_APPEND = 02000;
  public static final int O_NONBLOCK = 04000;
  public static final int O_CLOEXEC = 02000000;

  // sys/mman.h
  public static final int PROT_NONE = 0;
  public static final int PROT_READ = 1;
  public static final int PROT_WRITE = 2;
  public static final int MAP_SHARED = 0x01;
  public static final int MAP_PRIVATE = 0x02;
  public static final int MAP_ANONYMOUS = 0x20;
  public static final int MAP_NORESERVE = 0x4000;
  public static final int MAP_HUGETLB = 0x40000;

  /** Selects 2 MiB pages with {@link #MAP_HUGETLB}: log2(2 MiB) shifted by MAP_HUGE_SHIFT (26). */
  public static final int MAP_HUGE_2MB = 21 << 26;

  public static final int MADV_DONTNEED = 4;
  public static final int MADV_MERGEABLE = 12;

  private static final Linker LINKER = Linker.nativeLinker();
  private static final SymbolLookup LIBC = LINKER.defaultLookup();
  private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO =
      CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
  private static final ThreadLocal<MemorySegment> CALL_STATE_BUFFER =
      ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE));

  private static final MethodHandle OPEN =
      downcall("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), 2);
  private static final MethodHandle CLOSE =
      downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT), -1);
  private static final MethodHandle READ =
      downcall("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), -1);
  private static final MethodHandle WRITE =
      downcall("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), -1);
  private static final MethodHandle WRITEV =
      downcall("writev", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), -1);
  private static final MethodHandle IOCTL_POINTER =
      downcall("ioctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), 2);
  private static final MethodHandle IOCTL_VALUE =
      downcall("ioctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), 2);
  private static final MethodHandle MMAP =
      downcall(
          "mmap",
          FunctionDescriptor.of(
              ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG),
          -1);
  private static final MethodHandle MUNMAP =
      downcall("munmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), -1);
  private static final MethodHandle MADVISE =
      downcall("madvise", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), -1);
  private static final MethodHandle EVENTFD =
      downcall("eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), -1);
  private static final MethodHandle TIMERFD_CREATE =
      downcall("timerfd_create", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), -1);
  private static final MethodHandle TIMERFD_SETTIME =
      downcall(
          "timerfd_settime",
          FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS),
          -1);
  private static final MethodHandle EPOLL_CREATE1 =
      downcall("epoll_create1", FunctionDescriptor.of(JAVA_INT, JAVA_INT), -1);
  private static final MethodHandle EPOLL_CTL =
      downcall(
          "epoll_ctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS), -1);
  private static final MethodHandle EPOLL_WAIT =
      downcall(
          "epoll_wait", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), -1);
  private static final MethodHandle PTHREAD_SELF =
      downcall("pthread_self", FunctionDescriptor.of(JAVA_LONG), -1);
  private static final MethodHandle PTHREAD_KILL =
      downcall("pthread_kill", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT), -1);
  private static final MethodHandle SIGACTION =
      downcall("sigaction", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS), -1);
  private static final MethodHandle SIGRTMIN =
      downcall("__libc_current_sigrtmin", FunctionDescriptor.of(JAVA_INT), -1);
  // io_uring has no C library wrapper, so these go through syscall(2) with the x86_64 numbers from
  // asm/unistd_64.h. Every variadic argument is passed as a 64-bit value or a pointer.
  private static final long SYS_IO_URING_SETUP = 425;
  private static final long SYS_IO_URING_ENTER = 426;
  private static final long SYS_IO_URING_REGISTER = 427;
  private static final MethodHandle SYSCALL_SETUP =
      downcall("syscall", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS), 1);
  private static final MethodHandle SYSCALL_ENTER =
      downcall(
          "syscall",
          FunctionDescriptor.of(
              JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG),
          1);
  private static final MethodHandle SYSCALL_REGISTER =
      downcall(
          "syscall",
          FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG),
          1);
  private static final MethodHandle SOCKET =
      downcall("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), -1);
  private static final MethodHandle SOCKETPAIR =
      downcall(
          "socketpair", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS), -1);
  private static final MethodHandle BIND =
      downcall("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), -1);
  private static final MethodHandle LISTEN =
      downcall("listen", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), -1);
  private static final MethodHandle ACCEPT4 =
      downcall(
          "accept4", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT), -1);
  private static final MethodHandle CONNECT =
      downcall("connect", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), -1);
  private static final MethodHandle SEND =
      downcall(
          "send", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), -1);
  private static final MethodHandle SHUTDOWN =
      downcall("shutdown", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), -1);
  private static final MethodHandle STRERROR =
      LINKER.downcallHandle(LIBC.findOrThrow("strerror"), FunctionDescriptor.of(ADDRESS, JAVA_INT));

  private Syscalls() {}

  private static MethodHandle downcall(
      String name, FunctionDescriptor descriptor, int firstVariadic) {
    MemorySegment symbol = LIBC.findOrThrow(name);
    Linker.Option errno = Linker.Option.captureCallState("errno");
    return firstVariadic < 0
        ? LINKER.downcallHandle(symbol, descriptor, errno)
        : LINKER.downcallHandle(
            symbol, descriptor, errno, Linker.Option.firstVariadicArg(firstVariadic));
  }

  private static MemorySegment callState() {
    return CALL_STATE_BUFFER.get();
  }

  private static int lastErrno(MemorySegment state) {
    return (int) ERRNO.get(state, 0L);
  }

  private static RuntimeException unexpected(Throwable t) {
    if (t instanceof RuntimeException r) {
      return r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    return new IllegalStateException("native call failed: " + t, t);
  }

  /** Opens a file and returns its descriptor; {@code mode} matters only with {@link #O_CREAT}. */
  public static int open(String path, int flags, int mode) throws SyscallException {
    MemorySegment state = callState();
    int fd;
    try (Arena arena = Arena.ofConfined()) {
      fd = (int) OPEN.invokeExact(state, arena.allocateFrom(path), flags, mode);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    if (fd < 0) {
      throw new SyscallException("open(" + path + ")", lastErrno(state));
    }
    return fd;
  }

  /** Closes a file descriptor. */
  public static void close(int fd) throws SyscallException {
    MemorySegment state = callState();
    int result;
    try {
      result = (int) CLOSE.invokeExact(state, fd);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    if (result < 0) {
      throw new SyscallException("close(" + fd + ")", lastErrno(state));
    }
  }

  /**
   * Reads up to {@code length} bytes into native memory; returns the count, 0 at end of file, or -1
   * when a non-blocking descriptor has nothing ({@code EAGAIN}).
   */
  public static long read(int fd, MemorySegment buffer, long length) throws SyscallException {
    MemorySegment state = callState();
    while (true) {
      long result;
      try {
        result = (long) READ.invokeExact(state, fd, buffer, length);
      } catch (Throwable t) {
        throw unexpected(t);
      }
      if (result >= 0) {
        return result;
      }
      int errno = lastErrno(state);
      if (errno == Errno.EAGAIN) {
        return -1;
      }
      if (errno != Errno.EINTR) {
        throw new SyscallException("read(fd " + fd + ")", errno);
      }
    }
  }

  /**
   * Writes up to {@code length} bytes from native memory; returns the count, or -1 when a
   * non-blocking descriptor is full ({@code EAGAIN}).
   */
  public static long write(int fd, MemorySegment buffer, long length) throws SyscallException {
    MemorySegment state = callState();
    while (true) {
      long result;
      try {
        result = (long) WRITE.invokeExact(state, fd, buffer, length);
      } catch (Throwable t) {
        throw unexpected(t);
      }
      if (result >= 0) {
        return result;
      }
      int errno = lastErrno(state);
      if (errno == Errno.EAGAIN) {
        return -1;
      }
      if (errno != Errno.EINTR) {
        throw new SyscallException("write(fd " + fd + ")", errno);
      }
    }
  }

  /**
   * Writes the buffers that an array of {@code count} {@code struct iovec} (base, then length, 16
   * bytes each) describes, in one call; returns the count written, or -1 when a non-blocking
   * descriptor is full ({@code EAGAIN}).
   */
  public static long writev(int fd, MemorySegment iovecs, int count) throws SyscallException {
    MemorySegment state = callState();
    while (true) {
      long result;
      try {
        result = (long) WRITEV.invokeExact(state, fd, iovecs, count);
      } catch (Throwable t) {
        throw unexpected(t);
      }
      if (result >= 0) {
        return result;
      }
      int errno = lastErrno(state);
      if (errno == Errno.EAGAIN) {
        return -1;
      }
      if (errno != Errno.EINTR) {
        throw new SyscallException("writev(fd " + fd + ", " + count + " buffers)", errno);
      }
    }
  }

  /**
   * Calls {@code ioctl} with a pointer argument and returns its non-negative result.
   *
   * @param name the request's name for the error message, such as {@code KVM_SET_REGS}
   * @throws SyscallException naming the request when the call fails
   */
  public static int ioctl(int fd, long request, MemorySegment argument, String name)
      throws SyscallException {
    MemorySegment state = callState();
    int result;
    try {
      result = (int) IOCTL_POINTER.invokeExact(state, fd, request, argument);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    if (result < 0) {
      throw new SyscallException("ioctl(" + name + ")", lastErrno(state));
    }
    return result;
  }

  /**
   * Calls {@code ioctl} with an integer argument; see {@link #ioctl(int, long, MemorySegment,
   * String)}.
   */
  public static int ioctl(int fd, long request, long argument, String name)
      throws SyscallException {
    int result = ioctlOrErrno(fd, request, argument);
    if (result < 0) {
      throw new SyscallException("ioctl(" + name + ")", -result);
    }
    return result;
  }

  /**
   * Calls {@code ioctl} with an integer argument and returns its result, or the negated errno when
   * it fails, for callers that handle some errors (such as {@code EINTR} from {@code KVM_RUN}).
   */
  public static int ioctlOrErrno(int fd, long request, long argument) {
    MemorySegment state = callState();
    int result;
    try {
      result = (int) IOCTL_VALUE.invokeExact(state, fd, request, argument);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    return result < 0 ? -lastErrno(state) : result;
  }

  /**
   * Maps memory and returns it as a segment of {@code length} bytes.
   *
   * @param fd a descriptor to map, or -1 with {@link #MAP_ANONYMOUS}
   */
  public static MemorySegment mmap(long length, int prot, int flags, int fd, long offset)
      throws SyscallException {
    MemorySegment state = callState();
    MemorySegment address;
    try {
      address =
          (MemorySegment)
              MMAP.invokeExact(state, MemorySegment.NULL, length, prot, flags, fd, offset);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    if (address.address() == -1L) {
      throw new SyscallException("mmap(" + length + " bytes)", lastErrno(state));
    }
    return address.reinterpret(length);
  }

  /** Unmaps a segment returned by {@link #mmap}. */
  public static void munmap(MemorySegment mapping) throws SyscallException {
    MemorySegment state = callState();
    int result;
    try {
      result = (int) MUNMAP.invokeExact(state, mapping, mapping.byteSize());
    } catch (Throwable t) {
      throw unexpected(t);
    }
    if (result < 0) {
      throw new SyscallException("munmap(" + mapping.byteSize() + " bytes)", lastErrno(state));
    }
  }

  /** Gives the kernel advice about a mapped range, such as {@link #MADV_DONTNEED}. */
  public static void madvise(MemorySegment range, int advice) throws SyscallException {
    MemorySegment state = callState();
    int result;
    try {
      result = (int) MADVISE.invokeExact(state, range, range.byteSize(), advice);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    if (result < 0) {
      throw new SyscallException("madvise(advice " + advice + ")", lastErrno(state));
    }
  }

  static int eventfd(int initialValue, int flags) throws SyscallException {
    MemorySegment state = callState();
    int fd;
    try {
      fd = (int) EVENTFD.invokeExact(state, initialValue, flags);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    if (fd < 0) {
      throw new SyscallException("eventfd", lastErrno(state));
    }
    return fd;
  }

  static int timerfdCreate(int clock, int flags) throws SyscallException {
    MemorySegment state = callState();
    int fd;
    try {
      fd = (int) TIMERFD_CREATE.invokeExact(state, clock, flags);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    if (fd < 0) {
      throw new SyscallException("timerfd_create(clock " + clock + ")", lastErrno(state));
    }
    return fd;
  }

  /**
   * Sets a timerfd's expiry.
   *
   * @param newValue a {@code struct itimerspec}: it_interval then it_value, each a {@code struct
   *     timespec} of tv_sec and tv_nsec as 64-bit integers
   */
  static void timerfdSettime(int fd, MemorySegment newValue) throws SyscallException {
    MemorySegment state = callState();
    int result;
    try {
      result = (int) TIMERFD_SETTIME.invokeExact(state, fd, 0, newValue, MemorySegment.NULL);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    if (result < 0) {
      throw new SyscallException("timerfd_settime(fd " + fd + ")", lastErrno(state));
    }
  }

  static int epollCreate() throws SyscallException {
    MemorySegment state = callState();
    int fd;
    try {
      fd = (int) EPOLL_CREATE1.invokeExact(state, O_CLOEXEC);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    if (fd < 0) {
      throw new SyscallException("epoll_create1", lastErrno(state));
    }
    return fd;
  }

  static void epollCtl(int epfd, int op, int fd, MemorySegment event) throws SyscallException {
    MemorySegment state = callState();
    int result;
    try {
      result = (int) EPOLL_CTL.invokeExact(state, epfd, op, fd, event);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    if (result < 0) {
      throw new SyscallException("epoll_ctl(op " + op + ", fd " + fd + ")", lastErrno(state));
    }
  }

  static int epollWait(int epfd, MemorySegment events, int maxEvents, int timeoutMillis)
      throws SyscallException {
    MemorySegment state = callState();
    int result;
    try {
      result = (int) EPOLL_WAIT.invokeExact(state, epfd, events, maxEvents, timeoutMillis);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    if (result < 0) {
      int errno = lastErrno(state);
      if (errno == Errno.EINTR) {
        return 0;
      }
      throw new SyscallException("epoll_wait", errno);
    }
    return result;
  }

  /** Creates a socket (socket(2)) and returns its descriptor. */
  static int socket(int domain, int type, int protocol) throws SyscallException {
    MemorySegment state = callState();
    int fd;
    try {
      fd = (int) SOCKET.invokeExact(state, domain, type, protocol);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    if (fd < 0) {
      throw new SyscallException("socket(domain " + domain + ")", lastErrno(state));
    }
    return fd;
  }

  /** Creates a connected pair of sockets (socketpair(2)) into {@code fds}, two ints. */
  static void socketpair(int domain, int type, int protocol, MemorySegment fds)
      throws SyscallException {
    MemorySegment state = callState();
    int result;
    try {
      result = (int) SOCKETPAIR.invokeExact(state, domain, type, protocol, fds);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    if (result < 0) {
      throw new SyscallException("socketpair(domain " + domain + ")", lastErrno(state));
    }
  }

  /**
   * Binds a socket to an address (bind(2)).
   *
   * @param name the address for the error message, such as a socket path
   */
  static void bind(int fd, MemorySegment address, int length, String name) throws SyscallException {
    MemorySegment state = callState();
    int result;
    try {
      result = (int) BIND.invokeExact(state, fd, address, length);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    if (result < 0) {
      throw new SyscallException("bind(" + name + ")", lastErrno(state));
    }
  }

  /** Marks a bound socket as accepting connections (listen(2)). */
  static void listen(int fd, int backlog) throws SyscallException {
    MemorySegment state = callState();
    int result;
    try {
      result = (int) LISTEN.invokeExact(state, fd, backlog);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    if (result < 0) {
      throw new SyscallException("listen(fd " + fd + ")", lastErrno(state));
    }
  }

  /**
   * Accepts a connection (accept4(2)) without its peer address; returns the new descriptor, or -1
   * when a non-blocking listener has none waiting ({@code EAGAIN}).
   */
  static int accept4(int fd, int flags) throws SyscallException {
    MemorySegment state = callState();
    while (true) {
      int result;
      try {
        result =
            (int) ACCEPT4.invokeExact(state, fd, MemorySegment.NULL, MemorySegment.NULL, flags);
      } catch (Throwable t) {
        throw unexpected(t);
      }
      if (result >= 0) {
        return result;
      }
      int errno = lastErrno(state);
      if (errno == Errno.EAGAIN) {
        return -1;
      }
      if (errno != Errno.EINTR) {
        throw new SyscallException("accept4(fd " + fd + ")", errno);
      }
    }
  }

  /**
   * Connects a socket to an address (connect(2)).
   *
   * @param name the address for the error message, such as a socket path
   */
  static void connect(int fd, MemorySegment address, int length, String name)
      throws SyscallException {
    MemorySegment state = callState();
    int result;
    try {
      result = (int) CONNECT.invokeExact(state, fd, address, length);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    if (result < 0) {
      throw new SyscallException("connect(" + name + ")", lastErrno(state));
    }
  }

  /**
   * Sends up to {@code length} bytes on a connected socket (send(2)); returns the count, or -1 when
   * a non-blocking socket is full ({@code EAGAIN}).
   */
  static long send(int fd, MemorySegment buffer, long length, int flags) throws SyscallException {
    MemorySegment state = callState();
    while (true) {
      long result;
      try {
        result = (long) SEND.invokeExact(state, fd, buffer, length, flags);
      } catch (Throwable t) {
        throw unexpected(t);
      }
      if (result >= 0) {
        return result;
      }
      int errno = lastErrno(state);
      if (errno == Errno.EAGAIN) {
        return -1;
      }
      if (errno != Errno.EINTR) {
        throw new SyscallException("send(fd " + fd + ")", errno);
      }
    }
  }

  /** Shuts down one or both directions of a socket (shutdown(2)). */
  static void shutdown(int fd, int how) throws SyscallException {
    MemorySegment state = callState();
    int result;
    try {
      result = (int) SHUTDOWN.invokeExact(state, fd, how);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    if (result < 0) {
      throw new SyscallException("shutdown(fd " + fd + ", how " + how + ")", lastErrno(state));
    }
  }

  /** Returns the calling thread's POSIX thread handle, for {@link #pthreadKill}. */
  public static long pthreadSelf() {
    try {
      return (long) PTHREAD_SELF.invokeExact(callState());
    } catch (Throwable t) {
      throw unexpected(t);
    }
  }

  /** Sends a signal to one thread of this process. */
  public static void pthreadKill(long thread, int signal) throws SyscallException {
    int result;
    try {
      result = (int) PTHREAD_KILL.invokeExact(callState(), thread, signal);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    // pthread_kill returns the error number instead of setting errno.
    if (result != 0) {
      throw new SyscallException("pthread_kill(signal " + signal + ")", result);
    }
  }

  /** Returns the first real-time signal number that the C library leaves to applications. */
  public static int sigrtmin() {
    try {
      return (int) SIGRTMIN.invokeExact(callState());
    } catch (Throwable t) {
      throw unexpected(t);
    }
  }

  /**
   * Installs {@code handler}, the address of a native function taking an int, as the handler of
   * {@code signal}, with {@code SA_RESTART} so that other interrupted calls resume.
   */
  static void sigaction(int signal, MemorySegment handler) throws SyscallException {
    // struct sigaction on x86_64 glibc: handler (8 bytes), sa_mask (128), sa_flags (int + 4
    // padding), sa_restorer (8); the C library fills sa_restorer.
    final int saRestart = 0x10000000;
    MemorySegment state = callState();
    int result;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment action = arena.allocate(152, 8);
      action.set(ADDRESS, 0, handler);
      action.set(JAVA_INT, 136, saRestart);
      result = (int) SIGACTION.invokeExact(state, signal, action, MemorySegment.NULL);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    if (result < 0) {
      throw new SyscallException("sigaction(signal " + signal + ")", lastErrno(state));
    }
  }

  /**
   * Creates an io_uring instance ({@code io_uring_setup(2)}) and returns its descriptor.
   *
   * @param params a {@code struct io_uring_params} that the kernel reads flags from and fills in
   */
  static int ioUringSetup(int entries, MemorySegment params) throws SyscallException {
    MemorySegment state = callState();
    long result;
    try {
      result = (long) SYSCALL_SETUP.invokeExact(state, SYS_IO_URING_SETUP, (long) entries, params);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    if (result < 0) {
      throw new SyscallException("io_uring_setup(" + entries + " entries)", lastErrno(state));
    }
    return (int) result;
  }

  /**
   * Calls {@code io_uring_enter(2)} without a signal mask and returns its result, or the negated
   * errno when it fails, so that callers can handle {@code EINTR} and {@code EBUSY}.
   */
  static long ioUringEnter(int fd, int toSubmit, int minComplete, int flags) {
    MemorySegment state = callState();
    long result;
    try {
      result =
          (long)
              SYSCALL_ENTER.invokeExact(
                  state,
                  SYS_IO_URING_ENTER,
                  (long) fd,
                  Integer.toUnsignedLong(toSubmit),
                  Integer.toUnsignedLong(minComplete),
                  Integer.toUnsignedLong(flags),
                  MemorySegment.NULL,
                  0L);
    } catch (Throwable t) {
      throw unexpected(t);
    }
    return result < 0 ? -lastErrno(state) : result;
  }

  /**
   * Calls {@code io_uring_register(2)}.
   *
   * @param name the operation's name for the error message, such as {@code IORING_REGISTER_EVENTFD}
   * @throws SyscallException naming the operation when the call fails
   */
  static long ioUringRegister(int fd, int opcode, MemorySegment argument, int count, String name)
      throws SyscallException {
    MemorySegment state = callState();
    long result;
    try {
      result =
          (long)
              SYSCALL_REGISTER.invokeExact(
                  state,
                  SYS_IO_URING_REGISTER,
                  (long) fd,
                  (long) opcode,
                  argument,
                  Integer.toUnsignedLong(count));
    } catch (Throwable t) {
      throw unexpected(t);
    }
    if (result < 0) {
      throw new SyscallException("io_uring_register(" + name + ")", lastErrno(state));
    }
    return result;
  }

  /** Returns the address of a C library function. */
  static MemorySegment libcSymbol(String name) {
    return LIBC.findOrThrow(name);
  }

  /** Returns the C library's message for an errno value. */
  public static String strerror(int errno) {
    try {
      MemorySegment text = (MemorySegment) STRERROR.invokeExact(errno);
      return text.reinterpret(256).getString(0);
    } catch (Throwable t) {
      return "unknown error";
    }
  }
}
