package dev.kiln.vmm.devices.virtio.block;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.kiln.sys.Errno;
import dev.kiln.sys.EventFd;
import dev.kiln.sys.IoUring;
import dev.kiln.sys.SyscallException;
import dev.kiln.sys.Syscalls;
import dev.kiln.vmm.config.DriveConfig;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.List;

/**
 * The {@code Async} engine: reads, writes and flushes go to an io_uring instance and complete in
 * the background. The kernel signals {@link #completionEvent()} for each completion, and the device
 * then calls {@link #reap} on its event loop. Transfers go straight between the file and guest
 * memory, one {@code iovec} per data buffer of the request.
 *
 * <p>The ring is hardened as Firecracker's is: it only accepts READV, WRITEV and FSYNC on the one
 * registered file ({@code IORING_REGISTER_RESTRICTIONS}), so a bug cannot make it touch another
 * descriptor.
 *
 * <p>At most {@link #RING_ENTRIES} requests are in flight, so the SQ never overflows, and the CQ,
 * twice as large, never drops a completion. The kernel writes into guest memory until a request
 * completes, so {@link #drain} and {@link #close} wait for every request in flight. Calls come from
 * one thread at a time: the block device's lock orders them.
 */
final class AsyncEngine implements BlockIoEngine {
  /** The io_uring size, as in Firecracker's block device. */
  static final int RING_ENTRIES = 128;

  /** The file's index among the ring's registered files. */
  private static final int FILE_INDEX = 0;

  private static final String SYSCTL = "/proc/sys/kernel/io_uring_disabled";

  /** Receives one finished request from {@link #reap} or {@link #drain}. */
  @FunctionalInterface
  interface CompletionHandler {
    /**
     * @param result the byte count, 0 for a flush, or a negated errno
     */
    void complete(PendingRequest pending, int result);
  }

  private final int fd;
  private final IoUring ring;
  private final EventFd completionEvent;
  private final PendingRequest[] pending;
  private final MemorySegment[] iovecs;
  private final ArrayDeque<Integer> freeSlots = new ArrayDeque<>();

  /** Slots whose submission failed, with the negated errno, reported by the next reap. */
  private final ArrayDeque<long[]> failedSubmissions = new ArrayDeque<>();

  private int inFlight;
  private boolean closed;

  private AsyncEngine(int fd, IoUring ring, EventFd completionEvent) {
    this.fd = fd;
    this.ring = ring;
    this.completionEvent = completionEvent;
    int slots = ring.submissionEntries();
    this.pending = new PendingRequest[slots];
    this.iovecs = new MemorySegment[slots];
    for (int i = 0; i < slots; i++) {
      freeSlots.push(i);
    }
  }

  /**
   * Opens {@code path} and an io_uring instance of {@link #RING_ENTRIES} entries for it.
   *
   * @throws IOException when the file cannot be opened or io_uring cannot be set up; the message
   *     explains why, with the host setting that forbids io_uring when there is one, and what to
   *     change
   */
  static AsyncEngine open(Path path, boolean readOnly) throws IOException {
    return open(path, readOnly, RING_ENTRIES);
  }

  /**
   * Opens {@code path} and an io_uring instance of {@code entries} entries, rounded up to a power
   * of two, for it; tests use small rings to fill them.
   */
  static AsyncEngine open(Path path, boolean readOnly, int entries) throws IOException {
    int flags = (readOnly ? Syscalls.O_RDONLY : Syscalls.O_RDWR) | Syscalls.O_CLOEXEC;
    int fd = Syscalls.open(path.toString(), flags, 0);
    EventFd completionEvent = null;
    IoUring ring = null;
    try {
      completionEvent = new EventFd();
      ring = IoUring.setup(entries, IoUring.IORING_SETUP_R_DISABLED);
      ring.registerFiles(fd);
      ring.registerEventFd(completionEvent.fd());
      ring.registerRestrictions(
          new int[] {IoUring.IORING_OP_READV, IoUring.IORING_OP_WRITEV, IoUring.IORING_OP_FSYNC},
          IoUring.IOSQE_FIXED_FILE);
      ring.enableRings();
      return new AsyncEngine(fd, ring, completionEvent);
    } catch (SyscallException e) {
      closeAfterFailure(fd, ring, completionEvent, e);
      throw new IOException(unavailableMessage(e), e);
    }
  }

  private static void closeAfterFailure(
      int fd, IoUring ring, EventFd completionEvent, SyscallException failure) {
    try {
      if (ring != null) {
        ring.close();
      }
      if (completionEvent != null) {
        completionEvent.close();
      }
      Syscalls.close(fd);
    } catch (SyscallException e) {
      failure.addSuppressed(e);
    }
  }

  /** Explains a failed io_uring set-up and names the fix. */
  static String unavailableMessage(SyscallException e) {
    String reason = e.getMessage();
    String disabled = readSysctl();
    if (e.errno() == Errno.EPERM && disabled != null && !disabled.equals("0")) {
      return String.format(
          "io_uring is disabled on this host (%s is %s): %s; run `sysctl -w"
              + " kernel.io_uring_disabled=0` as root, or set `io_engine` to Sync",
          SYSCTL, disabled, reason);
    }
    if (e.errno() == Errno.ENOSYS) {
      return "this host kernel has no io_uring: "
          + reason
          + "; set `io_engine` to Sync or use a kernel built with CONFIG_IO_URING";
    }
    return "io_uring set-up failed: "
        + reason
        + "; set `io_engine` to Sync, or use a host kernel of 5.10 or later with io_uring enabled";
  }

  private static String readSysctl() {
    try {
      return Files.readString(Path.of(SYSCTL)).strip();
    } catch (IOException e) {
      return null;
    }
  }

  @Override
  public DriveConfig.IoEngine kind() {
    return DriveConfig.IoEngine.ASYNC;
  }

  /** Returns the eventfd the kernel signals for each completion. */
  EventFd completionEvent() {
    return completionEvent;
  }

  /** Returns the requests submitted or prepared and not yet reaped. */
  int inFlight() {
    return inFlight;
  }

  @Override
  public boolean hasCapacity() {
    return !freeSlots.isEmpty();
  }

  @Override
  public long read(long offset, List<MemorySegment> segments, PendingRequest request) {
    int slot = takeSlot(request);
    MemorySegment vector = fillIovecs(slot, segments);
    ring.prepareReadv(FILE_INDEX, IoUring.IOSQE_FIXED_FILE, offset, vector, segments.size(), slot);
    return SUBMITTED;
  }

  @Override
  public long write(long offset, List<MemorySegment> segments, PendingRequest request) {
    int slot = takeSlot(request);
    MemorySegment vector = fillIovecs(slot, segments);
    ring.prepareWritev(FILE_INDEX, IoUring.IOSQE_FIXED_FILE, offset, vector, segments.size(), slot);
    return SUBMITTED;
  }

  @Override
  public long flush(PendingRequest request) {
    int slot = takeSlot(request);
    ring.prepareFsync(FILE_INDEX, IoUring.IOSQE_FIXED_FILE, IoUring.IORING_FSYNC_DATASYNC, slot);
    return SUBMITTED;
  }

  private int takeSlot(PendingRequest request) {
    if (closed) {
      throw new IllegalStateException("the Async engine is closed");
    }
    Integer slot = freeSlots.poll();
    if (slot == null) {
      throw new IllegalStateException(
          "the Async engine has " + inFlight + " requests in flight, its maximum");
    }
    pending[slot] = request;
    inFlight++;
    return slot;
  }

  /**
   * Writes the segments as {@code struct iovec} entries in the slot's array, which stays reachable
   * until the slot is free again, so the kernel never reads a freed array.
   */
  private MemorySegment fillIovecs(int slot, List<MemorySegment> segments) {
    long needed = (long) IoUring.IOVEC_BYTES * Math.max(1, segments.size());
    if (iovecs[slot] == null || iovecs[slot].byteSize() < needed) {
      iovecs[slot] = Arena.ofAuto().allocate(needed, 8);
    }
    MemorySegment vector = iovecs[slot];
    for (int i = 0; i < segments.size(); i++) {
      vector.set(ADDRESS, (long) IoUring.IOVEC_BYTES * i, segments.get(i));
      vector.set(JAVA_LONG, (long) IoUring.IOVEC_BYTES * i + 8, segments.get(i).byteSize());
    }
    return vector;
  }

  /**
   * Hands the prepared requests to the kernel. When {@code io_uring_enter} fails, the requests it
   * did not take fail with its errno at the next {@link #reap}, and the completion eventfd is
   * signalled so that the device gets to them.
   */
  @Override
  public void submit() {
    if (closed || ring.unsubmitted() == 0) {
      return;
    }
    try {
      ring.submit();
    } catch (SyscallException e) {
      failUnsubmitted(e.errno());
    }
  }

  private void failUnsubmitted(int errno) {
    for (long userData : ring.withdrawUnsubmitted()) {
      failedSubmissions.add(new long[] {userData, -errno});
    }
    try {
      completionEvent.signal();
    } catch (SyscallException e) {
      // The failed requests still complete at the next reap, which the next completion or queue
      // notification brings.
    }
  }

  /**
   * Passes every finished request to {@code handler} and frees its slot. It drains the completion
   * eventfd first, so that a completion posted during the call signals it again.
   *
   * @return the number of requests finished
   */
  int reap(CompletionHandler handler) {
    if (closed) {
      return 0;
    }
    try {
      completionEvent.drain();
    } catch (SyscallException e) {
      // Only a broken descriptor fails here; the CQ is read anyway.
    }
    int count = 0;
    while (!failedSubmissions.isEmpty()) {
      long[] failure = failedSubmissions.poll();
      finish((int) failure[0], (int) failure[1], handler);
      count++;
    }
    count += ring.reap((userData, result) -> finish((int) userData, result, handler));
    return count;
  }

  private void finish(int slot, int result, CompletionHandler handler) {
    if (slot < 0 || slot >= pending.length || pending[slot] == null) {
      // Only Kiln writes user data, so this is a Kiln bug; the slot state cannot be trusted.
      throw new IllegalStateException("io_uring completion for unknown slot " + slot);
    }
    PendingRequest request = pending[slot];
    pending[slot] = null;
    freeSlots.push(slot);
    inFlight--;
    handler.complete(request, result);
  }

  /**
   * Submits what is prepared and waits until every request in flight has completed, passing each to
   * {@code handler}. After it returns the kernel has no pointer left into guest memory.
   *
   * @throws SyscallException when waiting fails; requests may then still be in flight
   */
  void drain(CompletionHandler handler) throws SyscallException {
    if (closed) {
      return;
    }
    reap(handler);
    while (inFlight > 0) {
      try {
        ring.submitAndWait(1);
      } catch (SyscallException e) {
        if (ring.unsubmitted() == 0) {
          throw e;
        }
        // Requests the kernel never took cannot touch memory; fail them and wait for the rest.
        failUnsubmitted(e.errno());
      }
      reap(handler);
    }
  }

  /**
   * Waits for the requests in flight, drops their results and closes the ring, the eventfd and the
   * file. When waiting fails, the ring stays open: closing it would not stop requests already
   * writing into guest memory.
   */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    drain((request, result) -> {});
    closed = true;
    try {
      ring.close();
    } finally {
      try {
        completionEvent.close();
      } finally {
        Syscalls.close(fd);
      }
    }
  }
}
