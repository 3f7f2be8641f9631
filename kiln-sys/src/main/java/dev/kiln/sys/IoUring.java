package dev.kiln.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * An io_uring instance ({@code io_uring_setup(2)}): a submission queue (SQ) of requests that the
 * kernel reads and a completion queue (CQ) of results that it writes, both shared through {@code
 * mmap}. Structure layouts, offsets and constants come from {@code linux/io_uring.h}.
 *
 * <p>The rings are shared with the kernel, so the head and tail indexes are read with acquire and
 * written with release semantics: an SQE is filled before the SQ tail that publishes it, and a CQE
 * is read after the CQ tail that published it and before the CQ head that gives its slot back.
 *
 * <p>Not thread-safe: one thread at a time may prepare, submit, reap and close. Without {@code
 * IORING_SETUP_SQPOLL} (never set here) the kernel reads the SQ only inside {@code io_uring_enter},
 * which is what lets {@link #withdrawUnsubmitted} take entries back.
 *
 * <p>The caller keeps every buffer and {@code iovec} array of a request valid until the request's
 * completion has been reaped. {@link #close} unmaps the rings but does not wait for requests; use
 * {@link #waitForCompletions} first.
 */
public final class IoUring implements AutoCloseable {
  // io_uring_setup flags.
  public static final int IORING_SETUP_CLAMP = 1 << 4;
  public static final int IORING_SETUP_R_DISABLED = 1 << 6;

  // enum io_uring_op: the opcodes Kiln uses.
  public static final int IORING_OP_NOP = 0;
  public static final int IORING_OP_READV = 1;
  public static final int IORING_OP_WRITEV = 2;
  public static final int IORING_OP_FSYNC = 3;

  // sqe->flags bits.
  public static final int IOSQE_FIXED_FILE = 1 << 0;

  /** sqe->fsync_flags: sync data only, as fdatasync(2). */
  public static final int IORING_FSYNC_DATASYNC = 1 << 0;

  // io_uring_enter flags.
  public static final int IORING_ENTER_GETEVENTS = 1 << 0;

  // io_uring_register opcodes.
  public static final int IORING_REGISTER_FILES = 2;
  public static final int IORING_REGISTER_EVENTFD = 4;
  public static final int IORING_REGISTER_RESTRICTIONS = 11;
  public static final int IORING_REGISTER_ENABLE_RINGS = 12;

  // enum io_uring_register_restriction_op.
  public static final int IORING_RESTRICTION_SQE_OP = 1;
  public static final int IORING_RESTRICTION_SQE_FLAGS_ALLOWED = 2;
  public static final int IORING_RESTRICTION_SQE_FLAGS_REQUIRED = 3;

  // mmap offsets of the three shared areas.
  private static final long IORING_OFF_SQ_RING = 0L;
  private static final long IORING_OFF_CQ_RING = 0x8000000L;
  private static final long IORING_OFF_SQES = 0x10000000L;

  /** mmap(2) flag (sys/mman.h): fault the shared ring pages in at once. */
  private static final int MAP_POPULATE = 0x8000;

  /** The size of {@code struct iovec}: {@code void *iov_base; size_t iov_len}. */
  public static final int IOVEC_BYTES = 16;

  // struct io_uring_params: 10 u32 fields, then io_sqring_offsets at 40 and io_cqring_offsets at
  // 80, each 40 bytes (seven u32 offsets, a reserved u32 and a u64 user_addr).
  private static final int PARAMS_BYTES = 120;
  private static final int PARAMS_SQ_ENTRIES = 0;
  private static final int PARAMS_CQ_ENTRIES = 4;
  private static final int PARAMS_FLAGS = 8;
  private static final int PARAMS_FEATURES = 20;
  private static final int SQ_OFF = 40;
  private static final int SQ_OFF_HEAD = SQ_OFF;
  private static final int SQ_OFF_TAIL = SQ_OFF + 4;
  private static final int SQ_OFF_RING_MASK = SQ_OFF + 8;
  private static final int SQ_OFF_ARRAY = SQ_OFF + 24;
  private static final int CQ_OFF = 80;
  private static final int CQ_OFF_HEAD = CQ_OFF;
  private static final int CQ_OFF_TAIL = CQ_OFF + 4;
  private static final int CQ_OFF_RING_MASK = CQ_OFF + 8;
  private static final int CQ_OFF_CQES = CQ_OFF + 20;

  // struct io_uring_sqe: 64 bytes.
  private static final int SQE_BYTES = 64;
  private static final int SQE_OPCODE = 0;
  private static final int SQE_FLAGS = 1;
  private static final int SQE_FD = 4;
  private static final int SQE_OFF = 8;
  private static final int SQE_ADDR = 16;
  private static final int SQE_LEN = 24;
  private static final int SQE_OP_FLAGS = 28;
  private static final int SQE_USER_DATA = 32;

  // struct io_uring_cqe: u64 user_data, s32 res, u32 flags.
  private static final int CQE_BYTES = 16;
  private static final int CQE_USER_DATA = 0;
  private static final int CQE_RES = 8;

  // struct io_uring_restriction: u16 opcode, u8 register_op/sqe_op/sqe_flags, u8 resv, u32
  // resv2[3].
  private static final int RESTRICTION_BYTES = 16;

  /** Aligned 32-bit accesses on the shared head and tail indexes. */
  private static final VarHandle INDEX = JAVA_INT.varHandle();

  /** Receives one completion from {@link #reap}. */
  @FunctionalInterface
  public interface CompletionHandler {
    /**
     * Handles a completion.
     *
     * @param userData the value the request was prepared with
     * @param result the request's result: a byte count or 0 on success, a negated errno on failure
     */
    void complete(long userData, int result);
  }

  private final int fd;
  private final int sqEntries;
  private final int cqEntries;
  private final int features;
  private final MemorySegment sqRing;
  private final MemorySegment cqRing;
  private final MemorySegment sqes;
  private final long sqHeadOffset;
  private final long sqTailOffset;
  private final int sqMask;
  private final long cqHeadOffset;
  private final long cqTailOffset;
  private final int cqMask;
  private final long cqesOffset;
  private int sqTail;
  private boolean closed;

  private IoUring(
      int fd,
      MemorySegment params,
      MemorySegment sqRing,
      MemorySegment cqRing,
      MemorySegment sqes) {
    this.fd = fd;
    this.sqEntries = params.get(JAVA_INT, PARAMS_SQ_ENTRIES);
    this.cqEntries = params.get(JAVA_INT, PARAMS_CQ_ENTRIES);
    this.features = params.get(JAVA_INT, PARAMS_FEATURES);
    this.sqRing = sqRing;
    this.cqRing = cqRing;
    this.sqes = sqes;
    this.sqHeadOffset = Integer.toUnsignedLong(params.get(JAVA_INT, SQ_OFF_HEAD));
    this.sqTailOffset = Integer.toUnsignedLong(params.get(JAVA_INT, SQ_OFF_TAIL));
    this.sqMask =
        sqRing.get(JAVA_INT, Integer.toUnsignedLong(params.get(JAVA_INT, SQ_OFF_RING_MASK)));
    this.cqHeadOffset = Integer.toUnsignedLong(params.get(JAVA_INT, CQ_OFF_HEAD));
    this.cqTailOffset = Integer.toUnsignedLong(params.get(JAVA_INT, CQ_OFF_TAIL));
    this.cqMask =
        cqRing.get(JAVA_INT, Integer.toUnsignedLong(params.get(JAVA_INT, CQ_OFF_RING_MASK)));
    this.cqesOffset = Integer.toUnsignedLong(params.get(JAVA_INT, CQ_OFF_CQES));
    this.sqTail = (int) INDEX.getAcquire(sqRing, sqTailOffset);

    // The SQ array maps ring positions to SQE indexes. Kiln fills SQE i for position i, so the
    // identity map is written once here.
    long array = Integer.toUnsignedLong(params.get(JAVA_INT, SQ_OFF_ARRAY));
    for (int i = 0; i < sqEntries; i++) {
      sqRing.set(JAVA_INT, array + 4L * i, i);
    }
  }

  /**
   * Creates an io_uring instance and maps its SQ ring, CQ ring and SQE array.
   *
   * @param entries the SQ size requested; the kernel rounds it up to a power of two, and with
   *     {@link #IORING_SETUP_CLAMP} lowers it to its maximum
   * @param flags {@code io_uring_setup} flags such as {@link #IORING_SETUP_R_DISABLED}
   * @throws SyscallException when the kernel refuses the ring, as with {@code EPERM} when the
   *     sysctl {@code kernel.io_uring_disabled} forbids it, or {@code ENOSYS} on a kernel without
   *     io_uring; or when a mapping fails
   */
  public static IoUring setup(int entries, int flags) throws SyscallException {
    MemorySegment params = Arena.ofAuto().allocate(PARAMS_BYTES, 8);
    params.set(JAVA_INT, PARAMS_FLAGS, flags);
    int fd = Syscalls.ioUringSetup(entries, params);
    List<MemorySegment> mapped = new ArrayList<>();
    try {
      int sqCount = params.get(JAVA_INT, PARAMS_SQ_ENTRIES);
      int cqCount = params.get(JAVA_INT, PARAMS_CQ_ENTRIES);
      long sqRingBytes = Integer.toUnsignedLong(params.get(JAVA_INT, SQ_OFF_ARRAY)) + 4L * sqCount;
      long cqRingBytes =
          Integer.toUnsignedLong(params.get(JAVA_INT, CQ_OFF_CQES)) + (long) CQE_BYTES * cqCount;
      int shared = Syscalls.MAP_SHARED | MAP_POPULATE;
      int prot = Syscalls.PROT_READ | Syscalls.PROT_WRITE;
      // With IORING_FEAT_SINGLE_MMAP both offsets map the same pages; mapping them apart works on
      // every kernel.
      MemorySegment sqRing = Syscalls.mmap(sqRingBytes, prot, shared, fd, IORING_OFF_SQ_RING);
      mapped.add(sqRing);
      MemorySegment cqRing = Syscalls.mmap(cqRingBytes, prot, shared, fd, IORING_OFF_CQ_RING);
      mapped.add(cqRing);
      MemorySegment sqes =
          Syscalls.mmap((long) SQE_BYTES * sqCount, prot, shared, fd, IORING_OFF_SQES);
      mapped.add(sqes);
      return new IoUring(fd, params, sqRing, cqRing, sqes);
    } catch (SyscallException | RuntimeException e) {
      for (MemorySegment mapping : mapped) {
        try {
          Syscalls.munmap(mapping);
        } catch (SyscallException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      try {
        Syscalls.close(fd);
      } catch (SyscallException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /** Returns the ring's descriptor. */
  public int fd() {
    return fd;
  }

  /** Returns the number of SQ entries the kernel gave the ring. */
  public int submissionEntries() {
    return sqEntries;
  }

  /** Returns the number of CQ entries the kernel gave the ring, twice the SQ size by default. */
  public int completionEntries() {
    return cqEntries;
  }

  /** Returns the {@code IORING_FEAT_*} bits the kernel reported. */
  public int features() {
    return features;
  }

  /**
   * Registers files for {@link #IOSQE_FIXED_FILE} requests, which then name a file by its index in
   * {@code fds} instead of its descriptor.
   */
  public void registerFiles(int... fds) throws SyscallException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment array = arena.allocateFrom(JAVA_INT, fds);
      Syscalls.ioUringRegister(
          fd, IORING_REGISTER_FILES, array, fds.length, "IORING_REGISTER_FILES");
    }
  }

  /** Makes the kernel signal {@code eventFd} each time it posts a completion. */
  public void registerEventFd(int eventFd) throws SyscallException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment argument = arena.allocateFrom(JAVA_INT, eventFd);
      Syscalls.ioUringRegister(fd, IORING_REGISTER_EVENTFD, argument, 1, "IORING_REGISTER_EVENTFD");
    }
  }

  /**
   * Limits the requests the ring accepts to {@code opcodes}, each with every flag of {@code
   * requiredFlags} and no other. Only a ring created with {@link #IORING_SETUP_R_DISABLED} and not
   * yet enabled takes restrictions; a request that breaks them completes with {@code -EACCES}.
   */
  public void registerRestrictions(int[] opcodes, int requiredFlags) throws SyscallException {
    int count = opcodes.length + 1;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment restrictions = arena.allocate((long) RESTRICTION_BYTES * count, 8);
      for (int i = 0; i < opcodes.length; i++) {
        restrictions.set(
            JAVA_SHORT, (long) RESTRICTION_BYTES * i, (short) IORING_RESTRICTION_SQE_OP);
        restrictions.set(JAVA_BYTE, (long) RESTRICTION_BYTES * i + 2, (byte) opcodes[i]);
      }
      long last = (long) RESTRICTION_BYTES * opcodes.length;
      restrictions.set(JAVA_SHORT, last, (short) IORING_RESTRICTION_SQE_FLAGS_REQUIRED);
      restrictions.set(JAVA_BYTE, last + 2, (byte) requiredFlags);
      Syscalls.ioUringRegister(
          fd, IORING_REGISTER_RESTRICTIONS, restrictions, count, "IORING_REGISTER_RESTRICTIONS");
    }
  }

  /** Starts a ring created with {@link #IORING_SETUP_R_DISABLED}. */
  public void enableRings() throws SyscallException {
    Syscalls.ioUringRegister(
        fd, IORING_REGISTER_ENABLE_RINGS, MemorySegment.NULL, 0, "IORING_REGISTER_ENABLE_RINGS");
  }

  /** Returns how many more requests fit in the SQ before {@link #submit}. */
  public int freeSubmissionSlots() {
    int head = (int) INDEX.getAcquire(sqRing, sqHeadOffset);
    return sqEntries - (sqTail - head);
  }

  /** Returns the requests prepared but not yet taken by the kernel. */
  public int unsubmitted() {
    int head = (int) INDEX.getAcquire(sqRing, sqHeadOffset);
    return sqTail - head;
  }

  /**
   * Prepares a vectored read ({@code IORING_OP_READV}) of {@code file} at byte {@code offset} into
   * the {@code count} {@code struct iovec} entries of {@code iovecs}.
   *
   * @param file a descriptor, or an index into the registered files with {@link #IOSQE_FIXED_FILE}
   * @throws IllegalStateException when the SQ is full
   */
  public void prepareReadv(
      int file, int sqeFlags, long offset, MemorySegment iovecs, int count, long userData) {
    prepare(IORING_OP_READV, sqeFlags, file, offset, iovecs.address(), count, 0, userData);
  }

  /** Prepares a vectored write ({@code IORING_OP_WRITEV}); see {@link #prepareReadv}. */
  public void prepareWritev(
      int file, int sqeFlags, long offset, MemorySegment iovecs, int count, long userData) {
    prepare(IORING_OP_WRITEV, sqeFlags, file, offset, iovecs.address(), count, 0, userData);
  }

  /**
   * Prepares an {@code IORING_OP_FSYNC} of {@code file}.
   *
   * @param fsyncFlags 0 for fsync(2), {@link #IORING_FSYNC_DATASYNC} for fdatasync(2)
   * @throws IllegalStateException when the SQ is full
   */
  public void prepareFsync(int file, int sqeFlags, int fsyncFlags, long userData) {
    prepare(IORING_OP_FSYNC, sqeFlags, file, 0, 0, 0, fsyncFlags, userData);
  }

  /** Prepares an {@code IORING_OP_NOP}, which completes with 0. */
  public void prepareNop(long userData) {
    prepare(IORING_OP_NOP, 0, -1, 0, 0, 0, 0, userData);
  }

  private void prepare(
      int opcode,
      int sqeFlags,
      int file,
      long offset,
      long address,
      int length,
      int opFlags,
      long userData) {
    checkOpen();
    if (freeSubmissionSlots() <= 0) {
      throw new IllegalStateException("the io_uring submission queue is full");
    }
    MemorySegment sqe = sqes.asSlice((long) (sqTail & sqMask) * SQE_BYTES, SQE_BYTES);
    sqe.fill((byte) 0);
    sqe.set(JAVA_BYTE, SQE_OPCODE, (byte) opcode);
    sqe.set(JAVA_BYTE, SQE_FLAGS, (byte) sqeFlags);
    sqe.set(JAVA_INT, SQE_FD, file);
    sqe.set(JAVA_LONG, SQE_OFF, offset);
    sqe.set(JAVA_LONG, SQE_ADDR, address);
    sqe.set(JAVA_INT, SQE_LEN, length);
    sqe.set(JAVA_INT, SQE_OP_FLAGS, opFlags);
    sqe.set(JAVA_LONG, SQE_USER_DATA, userData);
    sqTail++;
    // Publishes the SQE: the release store orders the writes above before the new tail.
    INDEX.setRelease(sqRing, sqTailOffset, sqTail);
  }

  /**
   * Hands the prepared requests to the kernel ({@code io_uring_enter}) and returns how many it
   * took. It retries on {@code EINTR}.
   *
   * @throws SyscallException when the kernel takes none; the requests stay prepared, and {@link
   *     #withdrawUnsubmitted} can take them back
   */
  public int submit() throws SyscallException {
    return enter(unsubmitted(), 0, 0);
  }

  /**
   * Submits the prepared requests and waits until at least {@code minComplete} completions are in
   * the CQ, counting those already there.
   */
  public int submitAndWait(int minComplete) throws SyscallException {
    return enter(unsubmitted(), minComplete, IORING_ENTER_GETEVENTS);
  }

  private int enter(int toSubmit, int minComplete, int flags) throws SyscallException {
    checkOpen();
    if (toSubmit == 0 && minComplete == 0) {
      return 0;
    }
    while (true) {
      long result = Syscalls.ioUringEnter(fd, toSubmit, minComplete, flags);
      if (result >= 0) {
        return (int) result;
      }
      int errno = (int) -result;
      if (errno != Errno.EINTR) {
        throw new SyscallException(
            String.format("io_uring_enter(submit %d, wait for %d)", toSubmit, minComplete), errno);
      }
    }
  }

  /**
   * Takes back the requests the kernel has not read yet and returns their user data in order, so
   * that the caller can fail them after {@link #submit} failed.
   */
  public long[] withdrawUnsubmitted() {
    checkOpen();
    int head = (int) INDEX.getAcquire(sqRing, sqHeadOffset);
    long[] userData = new long[sqTail - head];
    for (int i = 0; i < userData.length; i++) {
      long at = (long) ((head + i) & sqMask) * SQE_BYTES;
      userData[i] = sqes.get(JAVA_LONG, at + SQE_USER_DATA);
    }
    sqTail = head;
    INDEX.setRelease(sqRing, sqTailOffset, sqTail);
    return userData;
  }

  /**
   * Passes every completion in the CQ to {@code handler}, in order, and returns how many there
   * were. Each CQ slot is given back to the kernel after its handler call returns.
   */
  public int reap(CompletionHandler handler) {
    checkOpen();
    int head = (int) INDEX.getOpaque(cqRing, cqHeadOffset);
    // The acquire load orders the CQE reads below after the kernel's writes that published them.
    int tail = (int) INDEX.getAcquire(cqRing, cqTailOffset);
    int count = 0;
    while (head != tail) {
      long at = cqesOffset + (long) (head & cqMask) * CQE_BYTES;
      long userData = cqRing.get(JAVA_LONG, at + CQE_USER_DATA);
      int result = cqRing.get(JAVA_INT, at + CQE_RES);
      head++;
      count++;
      // The release store orders the reads above before the kernel may reuse the slot.
      INDEX.setRelease(cqRing, cqHeadOffset, head);
      handler.complete(userData, result);
      if (head == tail) {
        tail = (int) INDEX.getAcquire(cqRing, cqTailOffset);
      }
    }
    return count;
  }

  /**
   * Submits what is prepared and waits until {@code inFlight} completions have been reaped, passing
   * each to {@code handler}. Use it before freeing the buffers of requests in flight.
   *
   * @param inFlight the requests submitted or prepared and not yet reaped
   */
  public void waitForCompletions(int inFlight, CompletionHandler handler) throws SyscallException {
    int remaining = inFlight;
    remaining -= reap(handler);
    while (remaining > 0) {
      submitAndWait(1);
      remaining -= reap(handler);
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the io_uring instance is closed");
    }
  }

  /**
   * Unmaps the rings and closes the descriptor. The kernel cancels requests still in flight in the
   * background, so the caller must have waited for them if their buffers are about to go away.
   */
  @Override
  public void close() throws SyscallException {
    if (closed) {
      return;
    }
    closed = true;
    SyscallException failure = null;
    for (MemorySegment mapping : List.of(sqes, cqRing, sqRing)) {
      try {
        Syscalls.munmap(mapping);
      } catch (SyscallException e) {
        failure = e;
      }
    }
    Syscalls.close(fd);
    if (failure != null) {
      throw failure;
    }
  }
}
