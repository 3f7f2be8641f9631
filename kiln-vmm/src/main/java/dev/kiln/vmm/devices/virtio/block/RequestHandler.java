package dev.kiln.vmm.devices.virtio.block;

import static dev.kiln.vmm.devices.virtio.block.VirtioBlockSpec.SECTOR_SHIFT;
import static dev.kiln.vmm.devices.virtio.block.VirtioBlockSpec.SECTOR_SIZE;
import static dev.kiln.vmm.devices.virtio.block.VirtioBlockSpec.VIRTIO_BLK_ID_BYTES;
import static dev.kiln.vmm.devices.virtio.block.VirtioBlockSpec.VIRTIO_BLK_S_IOERR;
import static dev.kiln.vmm.devices.virtio.block.VirtioBlockSpec.VIRTIO_BLK_S_OK;
import static dev.kiln.vmm.devices.virtio.block.VirtioBlockSpec.VIRTIO_BLK_S_UNSUPP;

import dev.kiln.sys.Errno;
import dev.kiln.vmm.devices.virtio.Descriptor;
import dev.kiln.vmm.devices.virtio.DescriptorChain;
import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.memory.GuestMemoryException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries out virtio block requests (virtio 1.2, 5.2.6) on a {@link FileBackend}: it parses a
 * chain, checks the request, has the {@link BlockIoEngine} move the data between the file and guest
 * memory and writes the status byte. With the Async engine a read, write or flush finishes later,
 * in {@link #complete}. A bad request gets an error status, is counted in {@link BlockMetrics} and
 * is logged with a repeat limit.
 */
final class RequestHandler {
  private static final Logger LOG = LoggerFactory.getLogger(RequestHandler.class);

  /**
   * The largest data transfer of one request, in bytes, so that the used length (data plus the
   * status byte) fits in an int.
   */
  static final long MAX_TRANSFER_BYTES = (Integer.MAX_VALUE / SECTOR_SIZE) * (long) SECTOR_SIZE;

  /** The result of {@link #handle} for a request that the Async engine finishes later. */
  static final int SUBMITTED = -1;

  private static final int LOGGED_GUEST_ERRORS = 10;
  private static final int LOGGED_HOST_ERRORS = 10;

  private final String driveId;
  private final FileBackend backend;
  private final BlockIoEngine engine;
  private final BlockMetrics metrics;
  private final byte[] deviceId;
  private final AtomicLong guestErrors = new AtomicLong();
  private final AtomicLong hostErrors = new AtomicLong();

  /**
   * @param driveId the drive's id, for logs and as the device id that GET_ID returns; only its
   *     first 20 bytes (UTF-8) reach the guest
   */
  RequestHandler(String driveId, FileBackend backend, BlockIoEngine engine, BlockMetrics metrics) {
    this.driveId = driveId;
    this.backend = backend;
    this.engine = engine;
    this.metrics = metrics;
    // virtio 1.2, 5.2.6: the id is a string of up to 20 bytes, NUL-padded when shorter.
    // NOTE: Firecracker (main branch) returns a string built from the file's device
    // and inode numbers instead, so a guest's /sys/block/vdX/serial differs from Firecracker's.
    this.deviceId = Arrays.copyOf(driveId.getBytes(StandardCharsets.UTF_8), VIRTIO_BLK_ID_BYTES);
  }

  /**
   * Handles one request and returns the number of bytes written into the chain's buffers, the
   * status byte included, for the used ring, or {@link #SUBMITTED}. The chain's buffers have been
   * checked against guest RAM.
   */
  int handle(DescriptorChain chain, GuestMemory memory) {
    BlockRequest request;
    try {
      request = BlockRequest.parse(chain, memory);
    } catch (InvalidRequestException e) {
      return handleInvalid(e, memory);
    }
    return handle(request, chain.head(), memory);
  }

  /**
   * Counts and logs a chain that {@link BlockRequest#parse} rejected, writes IOERR to its status
   * byte when it has one, and returns the bytes written for the used ring.
   */
  int handleInvalid(InvalidRequestException e, GuestMemory memory) {
    metrics.invalidReqsCount.incrementAndGet();
    logGuestError(e.getMessage());
    if (e.statusAddress() == InvalidRequestException.NO_STATUS) {
      return 0;
    }
    memory.writeU8(e.statusAddress(), VIRTIO_BLK_S_IOERR);
    return 1;
  }

  /**
   * Carries out a parsed request and returns the bytes written into its buffers, the status byte
   * included, for the used ring. Returns {@link #SUBMITTED} instead when the engine took the
   * request and {@link #complete} finishes it.
   *
   * @param head the chain's head index, which the engine returns with the completion
   */
  int handle(BlockRequest request, int head, GuestMemory memory) {
    Completion completion;
    try {
      completion = execute(request, new PendingRequest(head, request), memory);
    } catch (GuestMemoryException e) {
      // Not expected: the queue checked every buffer against guest RAM.
      metrics.invalidReqsCount.incrementAndGet();
      logGuestError(VirtioBlockSpec.typeName(request.type()) + " request: " + e.getMessage());
      completion = Completion.error(VIRTIO_BLK_S_IOERR);
    }
    if (completion == Completion.SUBMITTED) {
      return SUBMITTED;
    }
    return finish(completion, request, memory);
  }

  /**
   * Finishes a request that the Async engine carried out: counts it, writes its status byte and
   * returns the bytes written into its buffers, the status byte included, for the used ring. A read
   * or write that moved fewer bytes than requested fails with IOERR, as a file that ends early does
   * with the Sync engine.
   *
   * @param result the io_uring result: the bytes moved, 0 for a flush, or a negated errno
   */
  int complete(PendingRequest pending, int result, GuestMemory memory) {
    BlockRequest request = pending.request();
    long expected = request.type() == VirtioBlockSpec.VIRTIO_BLK_T_FLUSH ? 0 : request.dataLength();
    Completion completion;
    if (result == expected) {
      completion =
          switch (request.type()) {
            case VirtioBlockSpec.VIRTIO_BLK_T_IN -> readDone(request);
            case VirtioBlockSpec.VIRTIO_BLK_T_OUT -> writeDone(request);
            default -> flushDone();
          };
    } else {
      metrics.executeFails.incrementAndGet();
      String problem =
          result < 0
              ? Errno.describe(-result)
              : String.format(
                  "moved %d of %d bytes; was the file truncated?", result, request.dataLength());
      logHostError(
          String.format(
              "%s request at sector %s failed on %s: %s",
              typeName(request), Long.toUnsignedString(request.sector()), backend.path(), problem));
      completion = Completion.error(VIRTIO_BLK_S_IOERR);
    }
    return finish(completion, request, memory);
  }

  private static int finish(Completion completion, BlockRequest request, GuestMemory memory) {
    memory.writeU8(request.statusAddress(), completion.status());
    return completion.dataWritten() + 1;
  }

  /**
   * The outcome of a request.
   *
   * @param status the status byte, such as {@link VirtioBlockSpec#VIRTIO_BLK_S_OK}
   * @param dataWritten the data bytes written into the request's buffers, before the status byte
   */
  private record Completion(int status, int dataWritten) {
    /** Marks a request that the engine finishes later; compared by identity. */
    static final Completion SUBMITTED = new Completion(VIRTIO_BLK_S_OK, 0);

    static Completion ok(int dataWritten) {
      return new Completion(VIRTIO_BLK_S_OK, dataWritten);
    }

    static Completion error(int status) {
      return new Completion(status, 0);
    }
  }

  private Completion execute(BlockRequest request, PendingRequest pending, GuestMemory memory) {
    return switch (request.type()) {
      case VirtioBlockSpec.VIRTIO_BLK_T_IN -> read(request, pending, memory);
      case VirtioBlockSpec.VIRTIO_BLK_T_OUT -> write(request, pending, memory);
      case VirtioBlockSpec.VIRTIO_BLK_T_FLUSH -> flush(pending);
      case VirtioBlockSpec.VIRTIO_BLK_T_GET_ID -> getId(request, memory);
      default -> reject(VIRTIO_BLK_S_UNSUPP, "unsupported request " + typeName(request));
    };
  }

  private Completion read(BlockRequest request, PendingRequest pending, GuestMemory memory) {
    String problem = checkTransfer(request);
    if (problem != null) {
      return reject(VIRTIO_BLK_S_IOERR, problem);
    }
    long result;
    try {
      result = engine.read(request.sector() << SECTOR_SHIFT, segments(request, memory), pending);
    } catch (IOException e) {
      return hostFailure(request, e);
    }
    return result == BlockIoEngine.SUBMITTED ? Completion.SUBMITTED : readDone(request);
  }

  private Completion readDone(BlockRequest request) {
    metrics.readBytes.addAndGet(request.dataLength());
    metrics.readCount.incrementAndGet();
    return Completion.ok((int) request.dataLength());
  }

  private Completion write(BlockRequest request, PendingRequest pending, GuestMemory memory) {
    if (backend.readOnly()) {
      return reject(
          VIRTIO_BLK_S_IOERR,
          String.format(
              "OUT request at sector %s on a read-only drive",
              Long.toUnsignedString(request.sector())));
    }
    String problem = checkTransfer(request);
    if (problem != null) {
      return reject(VIRTIO_BLK_S_IOERR, problem);
    }
    long result;
    try {
      result = engine.write(request.sector() << SECTOR_SHIFT, segments(request, memory), pending);
    } catch (IOException e) {
      return hostFailure(request, e);
    }
    return result == BlockIoEngine.SUBMITTED ? Completion.SUBMITTED : writeDone(request);
  }

  private Completion writeDone(BlockRequest request) {
    metrics.writeBytes.addAndGet(request.dataLength());
    metrics.writeCount.incrementAndGet();
    return Completion.ok(0);
  }

  /**
   * Commits the drive's writes to the host's storage, whatever the cache type, as Firecracker's
   * sync engine does. With Unsafe the device does not offer the flush feature, so a driver that
   * follows the spec sends no FLUSH.
   */
  private Completion flush(PendingRequest pending) {
    long result;
    try {
      result = engine.flush(pending);
    } catch (IOException e) {
      metrics.executeFails.incrementAndGet();
      logHostError("flush of " + backend.path() + " failed: " + e.getMessage());
      return Completion.error(VIRTIO_BLK_S_IOERR);
    }
    return result == BlockIoEngine.SUBMITTED ? Completion.SUBMITTED : flushDone();
  }

  private Completion flushDone() {
    metrics.flushCount.incrementAndGet();
    return Completion.ok(0);
  }

  private Completion getId(BlockRequest request, GuestMemory memory) {
    if (request.dataLength() < VIRTIO_BLK_ID_BYTES) {
      return reject(
          VIRTIO_BLK_S_IOERR,
          String.format(
              "GET_ID request with %d bytes of buffer, less than the %d the id takes",
              request.dataLength(), VIRTIO_BLK_ID_BYTES));
    }
    int copied = 0;
    for (Descriptor buffer : request.data()) {
      int length = Math.min(buffer.length(), VIRTIO_BLK_ID_BYTES - copied);
      memory.write(buffer.address(), deviceId, copied, length);
      copied += length;
      if (copied == VIRTIO_BLK_ID_BYTES) {
        break;
      }
    }
    return Completion.ok(VIRTIO_BLK_ID_BYTES);
  }

  /** Returns why an IN or OUT request cannot be carried out, or null when it can. */
  private String checkTransfer(BlockRequest request) {
    long length = request.dataLength();
    if (length % SECTOR_SIZE != 0) {
      return String.format(
          "%s request of %d bytes, not a multiple of %d", typeName(request), length, SECTOR_SIZE);
    }
    if (length > MAX_TRANSFER_BYTES) {
      return String.format(
          "%s request of %d bytes, more than the %d one request may move",
          typeName(request), length, MAX_TRANSFER_BYTES);
    }
    long capacity = backend.capacity();
    long sectors = length >>> SECTOR_SHIFT;
    // The sector is an unsigned 64-bit value from the guest; compare without overflow.
    if (Long.compareUnsigned(request.sector(), capacity) > 0
        || sectors > capacity - request.sector()) {
      return String.format(
          "%s request for %d sectors at sector %s goes past the drive's %d sectors",
          typeName(request), sectors, Long.toUnsignedString(request.sector()), capacity);
    }
    return null;
  }

  private static List<MemorySegment> segments(BlockRequest request, GuestMemory memory) {
    List<MemorySegment> segments = new ArrayList<>(request.data().size());
    for (Descriptor buffer : request.data()) {
      segments.add(memory.slice(buffer.address(), buffer.length()));
    }
    return segments;
  }

  private Completion reject(int status, String problem) {
    metrics.invalidReqsCount.incrementAndGet();
    logGuestError(problem);
    return Completion.error(status);
  }

  private Completion hostFailure(BlockRequest request, IOException e) {
    metrics.executeFails.incrementAndGet();
    logHostError(
        String.format(
            "%s request at sector %s failed on %s: %s",
            typeName(request),
            Long.toUnsignedString(request.sector()),
            backend.path(),
            e.getMessage()));
    return Completion.error(VIRTIO_BLK_S_IOERR);
  }

  private static String typeName(BlockRequest request) {
    return VirtioBlockSpec.typeName(request.type());
  }

  private void logGuestError(String message) {
    long count = guestErrors.incrementAndGet();
    if (count <= LOGGED_GUEST_ERRORS) {
      LOG.warn(
          "virtio-blk {}: {} (guest error {}{})",
          driveId,
          message,
          count,
          count == LOGGED_GUEST_ERRORS ? "; later ones are counted, not logged" : "");
    }
  }

  private void logHostError(String message) {
    long count = hostErrors.incrementAndGet();
    if (count <= LOGGED_HOST_ERRORS) {
      LOG.error(
          "virtio-blk {}: {} (I/O error {}{})",
          driveId,
          message,
          count,
          count == LOGGED_HOST_ERRORS ? "; later ones are counted, not logged" : "");
    }
  }
}
