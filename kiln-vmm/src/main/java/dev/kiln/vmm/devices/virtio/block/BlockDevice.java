package dev.kiln.vmm.devices.virtio.block;

import dev.kiln.sys.EventFd;
import dev.kiln.sys.SyscallException;
import dev.kiln.vmm.config.DriveConfig;
import dev.kiln.vmm.devices.virtio.DescriptorChain;
import dev.kiln.vmm.devices.virtio.VirtioDevice;
import dev.kiln.vmm.devices.virtio.VirtioInterrupt;
import dev.kiln.vmm.devices.virtio.VirtioSpec;
import dev.kiln.vmm.devices.virtio.Virtqueue;
import dev.kiln.vmm.devices.virtio.VirtqueueException;
import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.ratelimiter.RateLimiter;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The virtio block device (virtio 1.2, 5.2) over a {@link FileBackend}, with Firecracker's {@code
 * drives} semantics: one request queue; IN, OUT, FLUSH and GET_ID requests; {@code
 * VIRTIO_BLK_F_FLUSH} offered only with the Writeback cache type; {@code VIRTIO_BLK_F_RO} for
 * read-only drives. It also offers {@code VIRTIO_BLK_F_SEG_MAX}, which Firecracker does not, so
 * that the guest can send requests of many buffers.
 *
 * <p>With the Sync engine, requests run on the thread that calls {@link #processQueue}, the device
 * event loop in Kiln. With the Async engine, reads, writes and flushes go to io_uring, and the
 * event loop calls {@link #onEngineCompletion} when the engine's {@link #completionEvent()} fires;
 * that writes the status bytes and used elements. When {@link AsyncEngine#RING_ENTRIES} requests
 * are in flight the device stops taking requests from the queue, counts an {@code
 * io_engine_throttled_events}, and goes on after the next completion. Reset and close wait for the
 * requests in flight, so the kernel never writes into guest memory after them. With a {@link
 * RateLimiter}, a request that the limiter holds back stays in the available ring until the
 * limiter's timer fires and {@link #onRateLimiterTimer} handles the queue again. A bad request gets
 * an error status and is counted in {@link BlockMetrics}. A driver that breaks the virtqueue rules
 * stops the device until the driver resets it. No guest input makes {@link #processQueue} throw.
 */
public final class BlockDevice implements VirtioDevice, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(BlockDevice.class);

  /** The request queue's maximum size. */
  public static final int QUEUE_SIZE = 256;

  /**
   * The maximum number of data buffers in one request ({@code seg_max}). Without indirect
   * descriptors a request takes one ring descriptor per buffer plus one for the header and one for
   * the status, and it must fit in the ring.
   */
  // NOTE: a driver that makes the queue smaller than QUEUE_SIZE could build requests that never
  // fit in it. Linux's virtio-mmio driver asks for QueueNumMax entries and halves the queue only
  // when it cannot allocate the ring (drivers/virtio/virtio_mmio.c and virtio_ring.c).
  public static final int SEG_MAX = QUEUE_SIZE - 2;

  /** The configuration space: capacity (le64), size_max (le32), seg_max (le32). */
  private static final int CONFIG_SIZE = 16;

  private static final ValueLayout.OfLong LE_U64 =
      ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfInt LE_U32 =
      ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  private static final int LOGGED_CONFIG_ERRORS = 10;
  private static final int LOGGED_QUEUE_FAILURES = 10;

  private final String driveId;
  private FileBackend backend; // replaced under this by replaceBackend
  private BlockIoEngine engine; // replaced under this by replaceBackend
  private final DriveConfig.CacheType cacheType;
  private final Runnable needsReset;
  private final long features;
  private RequestHandler handler; // replaced under this by replaceBackend
  private final RateLimiter rateLimiter;
  private final byte[] config;
  private final Virtqueue queue = new Virtqueue(QUEUE_SIZE);
  private final BlockMetrics metrics = new BlockMetrics();
  private final AtomicLong configErrors = new AtomicLong();
  private final AtomicLong queueFailures = new AtomicLong();

  // Guarded by this: activate and reset come from a vCPU, processQueue from the event loop.
  private GuestMemory memory;
  private VirtioInterrupt interrupt;
  private boolean active;
  private boolean broken;
  // Set when a pass stopped because the engine was full; the next completion resumes the queue.
  private boolean engineThrottled;

  /**
   * Creates the device.
   *
   * @param driveId the drive's id, for logs and as the device id that GET_ID returns; only its
   *     first 20 bytes (UTF-8) reach the guest
   * @param backend the open disk image; the device is read-only when the backend is
   * @param cacheType Writeback offers the guest {@code VIRTIO_BLK_F_FLUSH}
   * @param needsReset called when the driver breaks the virtqueue rules, so that the transport sets
   *     {@code DEVICE_NEEDS_RESET}; the device handles no more requests until it is reset
   */
  public BlockDevice(
      String driveId, FileBackend backend, DriveConfig.CacheType cacheType, Runnable needsReset) {
    this(driveId, backend, new SyncEngine(backend), cacheType, null, needsReset);
  }

  /**
   * Creates the device with a rate limiter.
   *
   * @param driveId the drive's id, for logs and as the device id that GET_ID returns; only its
   *     first 20 bytes (UTF-8) reach the guest
   * @param backend the open disk image; the device is read-only when the backend is
   * @param cacheType Writeback offers the guest {@code VIRTIO_BLK_F_FLUSH}
   * @param rateLimiter limits the requests and bytes handled, or null for no limit; the device
   *     closes it. Its timer must call {@link #onRateLimiterTimer}
   * @param needsReset called when the driver breaks the virtqueue rules, so that the transport sets
   *     {@code DEVICE_NEEDS_RESET}; the device handles no more requests until it is reset
   */
  public BlockDevice(
      String driveId,
      FileBackend backend,
      DriveConfig.CacheType cacheType,
      RateLimiter rateLimiter,
      Runnable needsReset) {
    this(driveId, backend, new SyncEngine(backend), cacheType, rateLimiter, needsReset);
  }

  /**
   * Creates the device with an I/O engine from {@link BlockIoEngine#open}.
   *
   * @param driveId the drive's id, for logs and as the device id that GET_ID returns; only its
   *     first 20 bytes (UTF-8) reach the guest
   * @param backend the open disk image; the device is read-only when the backend is
   * @param engine moves the data of reads, writes and flushes; the device closes it. With the Async
   *     engine, the owner must call {@link #onEngineCompletion} when {@link #completionEvent()} is
   *     readable
   * @param cacheType Writeback offers the guest {@code VIRTIO_BLK_F_FLUSH}
   * @param rateLimiter limits the requests and bytes handled, or null for no limit; the device
   *     closes it. Its timer must call {@link #onRateLimiterTimer}
   * @param needsReset called when the driver breaks the virtqueue rules, so that the transport sets
   *     {@code DEVICE_NEEDS_RESET}; the device handles no more requests until it is reset
   */
  public BlockDevice(
      String driveId,
      FileBackend backend,
      BlockIoEngine engine,
      DriveConfig.CacheType cacheType,
      RateLimiter rateLimiter,
      Runnable needsReset) {
    this.driveId = driveId;
    this.engine = engine;
    this.rateLimiter = rateLimiter;
    this.backend = backend;
    this.cacheType = cacheType;
    this.needsReset = needsReset;

    long offered =
        VirtioSpec.feature(VirtioSpec.VIRTIO_F_VERSION_1)
            | VirtioSpec.feature(VirtioSpec.VIRTIO_RING_F_EVENT_IDX)
            | VirtioSpec.feature(VirtioBlockSpec.VIRTIO_BLK_F_SEG_MAX);
    if (cacheType == DriveConfig.CacheType.WRITEBACK) {
      offered |= VirtioSpec.feature(VirtioBlockSpec.VIRTIO_BLK_F_FLUSH);
    }
    if (backend.readOnly()) {
      offered |= VirtioSpec.feature(VirtioBlockSpec.VIRTIO_BLK_F_RO);
    }
    this.features = offered;

    this.handler = new RequestHandler(driveId, backend, engine, metrics);

    MemorySegment space = MemorySegment.ofArray(new byte[CONFIG_SIZE]);
    space.set(LE_U64, VirtioBlockSpec.CONFIG_CAPACITY, backend.capacity());
    space.set(LE_U32, VirtioBlockSpec.CONFIG_SEG_MAX, SEG_MAX);
    this.config = space.toArray(ValueLayout.JAVA_BYTE);
  }

  /**
   * Opens a configured drive's file and creates its device.
   *
   * @throws IOException when the file cannot be opened, the message naming the path, or when the
   *     rate limiter's timer cannot be created
   */
  public static BlockDevice open(DriveConfig drive, Runnable needsReset) throws IOException {
    FileBackend backend = FileBackend.open(Path.of(drive.pathOnHost()), drive.readOnly());
    BlockIoEngine engine = null;
    RateLimiter limiter = null;
    try {
      engine = BlockIoEngine.open(drive.ioEngineSetting(), backend);
      if (drive.rateLimiter() != null && drive.rateLimiter().limits()) {
        limiter = drive.rateLimiter().toRateLimiter();
      }
    } catch (IOException e) {
      if (engine != null) {
        engine.close();
      }
      backend.close();
      throw e;
    }
    return new BlockDevice(
        drive.driveId(), backend, engine, drive.cacheTypeSetting(), limiter, needsReset);
  }

  /** Returns the I/O engine's kind. */
  public DriveConfig.IoEngine ioEngine() {
    return engine.kind();
  }

  /**
   * Returns the eventfd that the Async engine's completions signal, or null with the Sync engine.
   */
  public EventFd completionEvent() {
    return engine instanceof AsyncEngine async ? async.completionEvent() : null;
  }

  /** Returns the rate limiter, or null when the drive has none. */
  public RateLimiter rateLimiter() {
    return rateLimiter;
  }

  /** Returns the drive id. */
  public String driveId() {
    return driveId;
  }

  /** Returns the device's counters. */
  public BlockMetrics metrics() {
    return metrics;
  }

  /** Returns the capacity reported to the guest, in 512-byte sectors. */
  public long capacity() {
    return backend.capacity();
  }

  @Override
  public int deviceType() {
    return VirtioSpec.DEVICE_ID_BLOCK;
  }

  @Override
  public long availableFeatures() {
    return features;
  }

  @Override
  public List<Virtqueue> queues() {
    return List.of(queue);
  }

  /** Returns bytes of {@code struct virtio_blk_config}; bytes past seg_max read as 0. */
  @Override
  public long readConfig(int offset, int size) {
    if (offset < 0 || size < 1 || size > 8 || offset > CONFIG_SIZE - size) {
      metrics.cfgFails.incrementAndGet();
      logConfigError(
          String.format(
              "configuration read of %d bytes at offset %d goes past the %d bytes the device has",
              size, offset, CONFIG_SIZE));
      if (offset < 0 || size < 1 || size > 8) {
        return 0;
      }
    }
    long value = 0;
    for (int i = 0; i < size && offset + i < CONFIG_SIZE; i++) {
      value |= (config[offset + i] & 0xffL) << (8 * i);
    }
    return value;
  }

  /** Drops the write: every field the device offers is read-only (virtio 1.2, 5.2.4). */
  @Override
  public void writeConfig(int offset, int size, long value) {
    metrics.cfgFails.incrementAndGet();
    logConfigError(
        String.format(
            "configuration write of %d bytes at offset %d dropped; the fields are read-only",
            size, offset));
  }

  @Override
  public synchronized void activate(
      GuestMemory memory, long negotiated, VirtioInterrupt interrupt) {
    if (!queue.isActive()) {
      metrics.activateFails.incrementAndGet();
      LOG.warn(
          "virtio-blk {}: the driver started the device without making its request queue ready;"
              + " requests will not be handled",
          driveId);
      return;
    }
    this.memory = memory;
    this.interrupt = interrupt;
    this.active = true;
    this.broken = false;
    LOG.debug(
        "virtio block {}: active with features 0x{}, {} sectors",
        driveId,
        Long.toHexString(negotiated),
        backend.capacity());
  }

  /**
   * Stops the device. With the Async engine it first waits for the requests in flight and drops
   * their results, because the driver may reuse their buffers once the reset is done.
   */
  @Override
  public synchronized void reset() {
    awaitInFlight("reset");
    active = false;
    broken = false;
    engineThrottled = false;
    memory = null;
    interrupt = null;
  }

  /**
   * Points the device at another backing file of the same kind (read-only or not) with a new engine
   * of the same {@code io_engine}, as Firecracker does for {@code PATCH /drives/{id}}: Kata
   * Containers hot-plugs disks this way into placeholder drives. Requests in flight on the old file
   * are finished for the guest first. The guest learns the new capacity through a configuration
   * change interrupt, which the caller raises through the transport.
   *
   * @return the new engine's completion eventfd, which the caller must register with the event loop
   *     to call {@link #onEngineCompletion}, or null for the Sync engine
   * @throws IOException naming the path when it cannot be opened; the device then keeps its file
   */
  public synchronized EventFd replaceBackend(Path path) throws IOException {
    FileBackend next = FileBackend.open(path, backend.readOnly());
    BlockIoEngine nextEngine;
    try {
      nextEngine = BlockIoEngine.open(engine.kind(), next);
    } catch (IOException | RuntimeException e) {
      next.close();
      throw e;
    }
    if (engine instanceof AsyncEngine async && async.inFlight() > 0) {
      int usedBefore = queue.usedIndex();
      try {
        async.drain(
            (pending, result) -> {
              if (active) {
                queue.addUsed(pending.head(), handler.complete(pending, result, memory));
              }
            });
      } catch (SyscallException | RuntimeException e) {
        nextEngine.close();
        next.close();
        throw new IOException(
            "drive " + driveId + ": cannot finish the requests in flight: " + e.getMessage(), e);
      }
      if (active) {
        raiseInterrupt(usedBefore);
      }
    }
    BlockIoEngine oldEngine = engine;
    FileBackend oldBackend = backend;
    backend = next;
    engine = nextEngine;
    handler = new RequestHandler(driveId, next, nextEngine, metrics);
    engineThrottled = false;
    MemorySegment.ofArray(config).set(LE_U64, VirtioBlockSpec.CONFIG_CAPACITY, next.capacity());
    try {
      oldEngine.close();
    } finally {
      oldBackend.close();
    }
    metrics.updateCount.incrementAndGet();
    return completionEvent();
  }

  /** Waits for the Async engine's requests in flight and drops their results. */
  private void awaitInFlight(String reason) {
    if (!(engine instanceof AsyncEngine async) || async.inFlight() == 0) {
      return;
    }
    int count = async.inFlight();
    try {
      async.drain((pending, result) -> {});
      LOG.debug("virtio-blk {}: {} waited for {} requests in flight", driveId, reason, count);
    } catch (SyscallException e) {
      // NOTE: the kernel may still write into the buffers of the requests left in flight.
      LOG.error(
          "virtio-blk {}: {} could not wait for {} io_uring requests in flight: {}",
          driveId,
          reason,
          async.inFlight(),
          e.getMessage());
    }
  }

  /**
   * Handles the requests in the available ring until it is empty or the rate limiter stops it, then
   * raises the used-buffer interrupt if the driver asked for one (virtio 1.2, 2.7.10). Errors are
   * counted and logged here, so nothing reaches the event loop unless the needs-reset callback
   * throws.
   */
  @Override
  public void processQueue(int index) {
    process(index, true);
  }

  /**
   * Unblocks the rate limiter after its timer fired, then handles the requests it held back. The
   * device's event loop calls this when {@link RateLimiter#timerFd()} becomes readable.
   */
  public void onRateLimiterTimer() {
    if (rateLimiter == null) {
      return;
    }
    rateLimiter.onTimer();
    metrics.rateLimiterEventCount.incrementAndGet();
    process(0, false);
  }

  /**
   * Handles the queue, then requests a reset outside this device's lock if the queue broke.
   *
   * @param queueEvent whether a queue notification, not the rate limiter's timer, started this pass
   */
  private void process(int index, boolean queueEvent) {
    boolean failed;
    synchronized (this) {
      failed = processRequests(index, queueEvent);
    }
    if (failed) {
      // Called without this device's lock: MmioTransport.fail takes the transport's lock, and the
      // transport holds that lock when it calls reset() or activate() here.
      needsReset.run();
    }
  }

  /**
   * Finishes the Async engine's completed requests, then resumes the queue if a full engine had
   * stopped it. The device's event loop calls this when {@link #completionEvent()} becomes
   * readable; it drains that eventfd.
   */
  public void onEngineCompletion() {
    boolean failed;
    synchronized (this) {
      failed = completeRequests();
    }
    if (failed) {
      needsReset.run();
    }
  }

  /** Returns true when the queue broke and the device now waits for a reset. */
  private boolean processRequests(int index, boolean queueEvent) {
    if (index != 0 || !active || broken) {
      return false;
    }
    if (queueEvent) {
      metrics.queueEventCount.incrementAndGet();
    }
    int usedBefore = queue.usedIndex();
    handleQueue(true);
    raiseInterrupt(usedBefore);
    return broken;
  }

  /** Returns true when the queue broke in this call and the device now waits for a reset. */
  private boolean completeRequests() {
    if (!(engine instanceof AsyncEngine async)) {
      return false;
    }
    if (!active) {
      async.reap((pending, result) -> {});
      return false;
    }
    // A broken queue still gets the requests it had in flight: the used ring was checked at
    // activation, and only the available ring is no longer trusted.
    boolean brokenBefore = broken;
    int usedBefore = queue.usedIndex();
    try {
      async.reap(
          (pending, result) ->
              queue.addUsed(pending.head(), handler.complete(pending, result, memory)));
    } catch (RuntimeException e) {
      stop("finishing a request failed: " + e, e);
    }
    if (!broken && engineThrottled && engine.hasCapacity()) {
      engineThrottled = false;
      handleQueue(false);
    }
    raiseInterrupt(usedBefore);
    return broken && !brokenBefore;
  }

  /**
   * Takes requests from the available ring until it is empty, the rate limiter or a full engine
   * stops it, or the driver breaks the queue, then submits what the engine has prepared.
   *
   * @param countEmpty whether an empty ring counts as {@code no_avail_buffer}: true except when a
   *     completion resumes the queue
   */
  private void handleQueue(boolean countEmpty) {
    try {
      DescriptorChain chain = nextChain();
      if (chain == null && countEmpty && !engineThrottled) {
        metrics.noAvailBuffer.incrementAndGet();
      }
      while (chain != null) {
        int written;
        try {
          BlockRequest request = BlockRequest.parse(chain, memory);
          if (rateLimiter != null && !rateLimiter.consume(rateLimitedBytes(request))) {
            // The request stays in the available ring; onRateLimiterTimer takes it again.
            queue.undoPop();
            metrics.rateLimiterThrottledEvents.incrementAndGet();
            break;
          }
          written = handler.handle(request, chain.head(), memory);
        } catch (InvalidRequestException e) {
          written = handler.handleInvalid(e, memory);
        }
        if (written != RequestHandler.SUBMITTED) {
          queue.addUsed(chain.head(), written);
        }
        chain = nextChain();
      }
    } catch (VirtqueueException e) {
      stop("the driver broke the virtqueue rules: " + e.getMessage(), null);
    } catch (RuntimeException e) {
      // The queue checks every guest address, so an exception here is a Kiln bug. It must still
      // not reach the event loop, and the device cannot trust its queue state after it.
      stop("request handling failed: " + e, e);
    }
    engine.submit();
  }

  /**
   * Pops the next chain, or returns null when the ring is empty or the engine is full. A full
   * engine leaves the chain in the ring and sets {@link #engineThrottled}.
   */
  private DescriptorChain nextChain() throws VirtqueueException {
    if (!engine.hasCapacity()) {
      engineThrottled = true;
      metrics.ioEngineThrottledEvents.incrementAndGet();
      return null;
    }
    return queue.pop();
  }

  private void raiseInterrupt(int usedBefore) {
    try {
      if (queue.usedIndex() != usedBefore && queue.needsInterrupt(usedBefore)) {
        interrupt.raise(VirtioSpec.INTERRUPT_USED_BUFFER);
      }
    } catch (RuntimeException e) {
      stop("raising the interrupt failed: " + e, e);
    }
  }

  /**
   * Marks the queue broken until the next reset, and logs why with its own repeat limit, so that
   * earlier request errors cannot hide it.
   *
   * @param bug the exception behind a Kiln bug, logged with its stack trace, or null
   */
  private void stop(String reason, RuntimeException bug) {
    broken = true;
    metrics.eventFails.incrementAndGet();
    long count = queueFailures.incrementAndGet();
    if (count <= LOGGED_QUEUE_FAILURES) {
      LOG.error(
          "virtio-blk {}: {}; the device needs a reset (queue failure {}{})",
          driveId,
          reason,
          count,
          count == LOGGED_QUEUE_FAILURES ? "; later ones are counted, not logged" : "",
          bug);
    }
  }

  /**
   * Returns the bytes a request takes from the bandwidth bucket: its data length for reads and
   * writes, 0 for flush, GET_ID and other types, which take an operation only.
   */
  private static long rateLimitedBytes(BlockRequest request) {
    return switch (request.type()) {
      case VirtioBlockSpec.VIRTIO_BLK_T_IN, VirtioBlockSpec.VIRTIO_BLK_T_OUT ->
          request.dataLength();
      default -> 0;
    };
  }

  private void logConfigError(String message) {
    long count = configErrors.incrementAndGet();
    if (count <= LOGGED_CONFIG_ERRORS) {
      LOG.warn(
          "virtio-blk {}: {} (configuration error {}{})",
          driveId,
          message,
          count,
          count == LOGGED_CONFIG_ERRORS ? "; later ones are counted, not logged" : "");
    }
  }

  /**
   * Waits for the requests in flight, flushes the file when the cache type is Writeback, then
   * closes the engine, the file and the rate limiter.
   */
  @Override
  public synchronized void close() throws IOException {
    try {
      awaitInFlight("close");
      if (cacheType == DriveConfig.CacheType.WRITEBACK && !backend.readOnly()) {
        backend.flush();
      }
    } finally {
      try {
        try {
          engine.close();
        } finally {
          backend.close();
        }
      } finally {
        if (rateLimiter != null) {
          rateLimiter.close();
        }
      }
    }
  }
}
