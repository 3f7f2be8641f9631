package dev.kiln.sys;

/** Errno values (asm-generic/errno-base.h, asm-generic/errno.h) that Kiln tests for by name. */
public final class Errno {
  public static final int EPERM = 1;
  public static final int ENOENT = 2;
  public static final int EINTR = 4;
  public static final int EIO = 5;
  public static final int ENXIO = 6;
  public static final int EBADF = 9;
  public static final int EAGAIN = 11;
  public static final int ENOMEM = 12;
  public static final int EACCES = 13;
  public static final int EFAULT = 14;
  public static final int EBUSY = 16;
  public static final int EEXIST = 17;
  public static final int ENODEV = 19;
  public static final int EINVAL = 22;
  public static final int ENOSPC = 28;
  public static final int EPIPE = 32;
  public static final int ENAMETOOLONG = 36;
  public static final int ENOSYS = 38;
  public static final int EADDRINUSE = 98;
  public static final int ECONNRESET = 104;
  public static final int ENOTCONN = 107;
  public static final int ECONNREFUSED = 111;
  public static final int ENOTSUP = 95;
  public static final int EBADFD = 77;

  private Errno() {}

  /** Returns the symbolic name of an errno value, or {@code errno <n>} for one not listed here. */
  public static String name(int errno) {
    return switch (errno) {
      case EPERM -> "EPERM";
      case ENOENT -> "ENOENT";
      case EINTR -> "EINTR";
      case EIO -> "EIO";
      case ENXIO -> "ENXIO";
      case EBADF -> "EBADF";
      case EAGAIN -> "EAGAIN";
      case ENOMEM -> "ENOMEM";
      case EACCES -> "EACCES";
      case EFAULT -> "EFAULT";
      case EBUSY -> "EBUSY";
      case EEXIST -> "EEXIST";
      case ENODEV -> "ENODEV";
      case EINVAL -> "EINVAL";
      case ENOSPC -> "ENOSPC";
      case EPIPE -> "EPIPE";
      case ENAMETOOLONG -> "ENAMETOOLONG";
      case ENOSYS -> "ENOSYS";
      case EADDRINUSE -> "EADDRINUSE";
      case ECONNRESET -> "ECONNRESET";
      case ENOTCONN -> "ENOTCONN";
      case ECONNREFUSED -> "ECONNREFUSED";
      case ENOTSUP -> "ENOTSUP";
      case EBADFD -> "EBADFD";
      default -> "errno " + errno;
    };
  }

  /**
   * Returns the name and the C library's text for an errno value, e.g. {@code EINVAL (Invalid
   * argument)}.
   */
  public static String describe(int errno) {
    return name(errno) + " (" + Syscalls.strerror(errno) + ")";
  }
}
