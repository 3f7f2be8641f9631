package dev.kiln.sys;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A Linux TAP device opened through {@code /dev/net/tun} (Documentation/networking/tuntap.rst):
 * {@code TUNSETIFF} with {@code IFF_TAP | IFF_NO_PI | IFF_VNET_HDR}, so that every frame read or
 * written carries a {@code virtio_net_hdr} in front, whose size {@code TUNSETVNETHDRSZ} sets. The
 * descriptor is non-blocking: {@link #read} and {@link #write} return -1 instead of waiting.
 */
public final class Tap implements AutoCloseable {
  /** The clone device that TAP descriptors are opened from. */
  public static final String TUN_DEVICE = "/dev/net/tun";

  /** The size of an interface name buffer, the terminating NUL included (linux/if.h). */
  public static final int IFNAMSIZ = 16;

  // linux/if_tun.h: _IOW('T', 202, int), _IOW('T', 208, unsigned int), _IOW('T', 216, int).
  static final long TUNSETIFF = 0x400454caL;
  static final long TUNSETOFFLOAD = 0x400454d0L;
  static final long TUNSETVNETHDRSZ = 0x400454d8L;

  /** TUNSETIFF flags: a TAP (Ethernet) device, no packet information, virtio-net headers. */
  public static final int IFF_TAP = 0x0002;

  public static final int IFF_NO_PI = 0x1000;
  public static final int IFF_VNET_HDR = 0x4000;

  /** TUNSETOFFLOAD flags: what the reader of the TAP accepts in the frames it reads. */
  public static final int TUN_F_CSUM = 0x01;

  public static final int TUN_F_TSO4 = 0x02;
  public static final int TUN_F_TSO6 = 0x04;
  public static final int TUN_F_TSO_ECN = 0x08;
  public static final int TUN_F_UFO = 0x10;

  /** {@code struct ifreq}: the name, then a union whose first member is the short flags. */
  private static final int IFREQ_SIZE = 40;

  private static final int IOVEC_SIZE = 16;

  private final int fd;
  private final String name;
  private final Arena arena = Arena.ofShared();
  private final MemorySegment iovecs;
  private final int maxIovecs;
  private volatile boolean closed;

  private Tap(int fd, String name, int maxIovecs) {
    this.fd = fd;
    this.name = name;
    this.maxIovecs = maxIovecs;
    this.iovecs = arena.allocate((long) IOVEC_SIZE * maxIovecs, 8);
  }

  /**
   * Opens the TAP device {@code name}, non-blocking, with virtio-net headers of {@code
   * vnetHeaderSize} bytes. A TAP of that name that does not exist is created if the process may
   * (CAP_NET_ADMIN), and disappears again when it is closed, as with Firecracker.
   *
   * @param maxIovecs the most buffers one {@link #write} may gather
   * @throws SyscallException naming the call that failed: {@code open(/dev/net/tun)}, {@code
   *     ioctl(TUNSETIFF <name>)} or {@code ioctl(TUNSETVNETHDRSZ)}; {@link #hint} turns it into
   *     advice
   * @throws IllegalArgumentException when the name is empty or does not fit {@link #IFNAMSIZ}
   */
  public static Tap open(String name, int vnetHeaderSize, int maxIovecs) throws SyscallException {
    byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
    if (bytes.length == 0 || bytes.length >= IFNAMSIZ) {
      throw new IllegalArgumentException(
          "TAP name \"" + name + "\" must be 1 to " + (IFNAMSIZ - 1) + " bytes");
    }
    int fd =
        Syscalls.open(TUN_DEVICE, Syscalls.O_RDWR | Syscalls.O_NONBLOCK | Syscalls.O_CLOEXEC, 0);
    try (Arena call = Arena.ofConfined()) {
      MemorySegment ifreq = call.allocate(IFREQ_SIZE, 8);
      MemorySegment.copy(bytes, 0, ifreq, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, bytes.length);
      ifreq.set(JAVA_SHORT, IFNAMSIZ, (short) (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR));
      Syscalls.ioctl(fd, TUNSETIFF, ifreq, "TUNSETIFF " + name);
      MemorySegment size = call.allocate(JAVA_INT);
      size.set(JAVA_INT, 0, vnetHeaderSize);
      Syscalls.ioctl(fd, TUNSETVNETHDRSZ, size, "TUNSETVNETHDRSZ " + vnetHeaderSize);
    } catch (SyscallException | RuntimeException e) {
      try {
        Syscalls.close(fd);
      } catch (SyscallException ignored) {
        // The open error matters more.
      }
      throw e;
    }
    return new Tap(fd, name, maxIovecs);
  }

  /**
   * Returns what to do about a failure of {@link #open}, for error messages: the likely cause by
   * call and errno.
   */
  public static String hint(SyscallException e, String name) {
    boolean tunOpen = e.call().startsWith("open(");
    return switch (e.errno()) {
      case Errno.ENOENT, Errno.ENODEV, Errno.ENXIO ->
          tunOpen
              ? TUN_DEVICE
                  + " is missing; load the tun module (modprobe tun) or create the node (mknod"
                  + " /dev/net/tun c 10 200)"
              : "the kernel has no TUN/TAP support; load the tun module (modprobe tun)";
      case Errno.EACCES, Errno.EPERM ->
          tunOpen
              ? "Kiln may not open "
                  + TUN_DEVICE
                  + "; run it as root or give its user access to the device"
              : "Kiln may not attach to TAP "
                  + name
                  + "; create it for Kiln's user first (ip tuntap add dev "
                  + name
                  + " mode tap user <user>) or run Kiln with CAP_NET_ADMIN";
      case Errno.EBUSY ->
          "TAP "
              + name
              + " is already attached to another process (another VM?); give each network"
              + " interface its own TAP";
      case Errno.EINVAL ->
          "a network device named "
              + name
              + " exists but is not a TAP device usable with virtio-net headers (a TUN device or"
              + " another kind); choose another host_dev_name or delete that device";
      default -> "check host_dev_name and the host's TUN/TAP setup";
    };
  }

  /** Returns the descriptor, for the event loop. */
  public int fd() {
    return fd;
  }

  /** Returns the interface name. */
  public String name() {
    return name;
  }

  /** Returns the largest number of buffers one {@link #write} gathers. */
  public int maxIovecs() {
    return maxIovecs;
  }

  /** Sets the offloads ({@link #TUN_F_CSUM} and the others) that frames read may use. */
  public void setOffload(int flags) throws SyscallException {
    Syscalls.ioctl(fd, TUNSETOFFLOAD, Integer.toUnsignedLong(flags), "TUNSETOFFLOAD");
  }

  /**
   * Reads one frame, its virtio-net header first, into {@code buffer}; returns its length, or -1
   * when no frame waits. A frame longer than the buffer is cut short by the kernel.
   */
  public int read(MemorySegment buffer) throws SyscallException {
    return (int) Syscalls.read(fd, buffer, buffer.byteSize());
  }

  /**
   * Writes one frame, its virtio-net header first, gathered from {@code segments} in one {@code
   * writev}; returns the bytes written, or -1 when the TAP cannot take it now.
   *
   * @throws IllegalArgumentException when there are more segments than {@link #maxIovecs()}
   */
  public synchronized long write(List<MemorySegment> segments) throws SyscallException {
    if (segments.size() > maxIovecs) {
      throw new IllegalArgumentException(
          segments.size() + " buffers for one frame; at most " + maxIovecs);
    }
    for (int i = 0; i < segments.size(); i++) {
      MemorySegment segment = segments.get(i);
      iovecs.set(JAVA_LONG, (long) i * IOVEC_SIZE, segment.address());
      iovecs.set(JAVA_LONG, (long) i * IOVEC_SIZE + 8, segment.byteSize());
    }
    return Syscalls.writev(fd, iovecs, segments.size());
  }

  @Override
  public synchronized void close() throws SyscallException {
    if (!closed) {
      closed = true;
      Syscalls.close(fd);
      arena.close();
    }
  }
}
