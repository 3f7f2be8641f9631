package dev.kiln.vmm.devices.virtio.balloon;

import dev.kiln.vmm.config.BalloonConfig;
import dev.kiln.vmm.devices.virtio.Descriptor;
import dev.kiln.vmm.devices.virtio.DescriptorChain;
import dev.kiln.vmm.devices.virtio.VirtioDevice;
import dev.kiln.vmm.devices.virtio.VirtioInterrupt;
import dev.kiln.vmm.devices.virtio.VirtioSpec;
import dev.kiln.vmm.devices.virtio.Virtqueue;
import dev.kiln.vmm.devices.virtio.VirtqueueException;
import dev.kiln.vmm.memory.GuestMemory;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongPredicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The traditional memory balloon (virtio 1.2, 5.5) with Firecracker's {@code balloon} semantics.
 * The host sets a target size in {@code num_pages}; the guest driver inflates the balloon by
 * sending the page frame numbers of pages it gives up, and deflates it by sending those it takes
 * back. Inflated pages go back to the host through {@link PageReleaser}. Deflated pages are only
 * counted, because the guest's next touch faults a fresh zero page in.
 *
 * <p>Queues: inflateq (0) and deflateq (1), and statsq (2) when {@code stats_polling_interval_s} is
 * not 0. The device keeps the last statistics the guest sent, and keeps the statistics buffer until
 * {@link #requestStats} returns it, which prompts the guest to send fresh values. In a VM a {@link
 * StatsPoller} calls it every {@code stats_polling_interval_s} seconds.
 *
 * <p>A hostile driver is expected: page frame numbers outside guest RAM are skipped and counted; a
 * chain with a device-writable buffer or a length that is not a whole number of page frame numbers
 * stops the device until the driver resets it. No guest input makes {@link #processQueue} throw.
 */
public final class BalloonDevice implements VirtioDevice {
  private static final Logger LOG = LoggerFactory.getLogger(BalloonDevice.class);

  /** The maximum size of each queue. */
  public static final int QUEUE_SIZE = 256;

  /**
   * The maximum statistics buffer length in bytes: room for 409 statistics, while virtio 1.2
   * defines 10 tags. Longer buffers count as failed updates.
   */
  static final int MAX_STATS_BYTES = 4096;

  /** The largest target in MiB, so that {@code num_pages} fits in its 32 bits. */
  public static final long MAX_TARGET_MIB = 0xffff_ffffL / VirtioBalloonSpec.PAGES_PER_MIB;

  private static final int LOGGED_GUEST_ERRORS = 10;
  private static final int LOGGED_QUEUE_FAILURES = 10;

  private final boolean deflateOnOom;
  private final boolean statsEnabled;
  private final Runnable needsReset;
  private final long features;
  private final Virtqueue inflateQueue = new Virtqueue(QUEUE_SIZE);
  private final Virtqueue deflateQueue = new Virtqueue(QUEUE_SIZE);
  private final Virtqueue statsQueue;
  private final List<Virtqueue> queues;
  private final BalloonMetrics metrics = new BalloonMetrics();
  private final AtomicLong inflatedPages = new AtomicLong();
  private final AtomicLong deflatedPages = new AtomicLong();
  private final AtomicLong skippedPages = new AtomicLong();
  private final AtomicLong releaseFailedPages = new AtomicLong();
  private final AtomicLong guestErrors = new AtomicLong();
  private final AtomicLong queueFailures = new AtomicLong();

  // Guarded by this: activate, reset and the configuration space come from a vCPU, processQueue
  // from the event loop, setTargetMib from the API.
  private int numPages;
  private int actual;
  private GuestMemory memory;
  private VirtioInterrupt interrupt;
  private boolean active;
  private boolean broken;
  private int heldStatsHead = -1;
  private final Map<Integer, Long> stats = new TreeMap<>();

  /**
   * Creates the device from a validated {@code balloon} section.
   *
   * @param config the section; {@code amount_mib} sets the first target
   * @param needsReset called when the driver breaks the queue rules, so that the transport sets
   *     {@code DEVICE_NEEDS_RESET}; the device handles no more requests until it is reset
   */
  public BalloonDevice(BalloonConfig config, Runnable needsReset) {
    this.deflateOnOom = config.deflateOnOom();
    this.statsEnabled = config.statsEnabled();
    this.needsReset = needsReset;
    this.numPages = pagesFor(config.amountMib());

    long offered = VirtioSpec.feature(VirtioSpec.VIRTIO_F_VERSION_1);
    if (deflateOnOom) {
      offered |= VirtioSpec.feature(VirtioBalloonSpec.VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
    }
    List<Virtqueue> all = new ArrayList<>(List.of(inflateQueue, deflateQueue));
    if (statsEnabled) {
      offered |= VirtioSpec.feature(VirtioBalloonSpec.VIRTIO_BALLOON_F_STATS_VQ);
      statsQueue = new Virtqueue(QUEUE_SIZE);
      all.add(statsQueue);
    } else {
      statsQueue = null;
    }
    this.features = offered;
    this.queues = List.copyOf(all);
  }

  private static int pagesFor(long mib) {
    if (mib < 0 || mib > MAX_TARGET_MIB) {
      throw new IllegalArgumentException(
          "balloon target " + mib + " MiB is outside 0 to " + MAX_TARGET_MIB + " MiB");
    }
    return (int) (mib * VirtioBalloonSpec.PAGES_PER_MIB);
  }

  /** Returns the device's counters. */
  public BalloonMetrics metrics() {
    return metrics;
  }

  @Override
  public int deviceType() {
    return VirtioSpec.DEVICE_ID_BALLOON;
  }

  @Override
  public long availableFeatures() {
    return features;
  }

  @Override
  public List<Virtqueue> queues() {
    return queues;
  }

  /** Returns bytes of {@code struct virtio_balloon_config}; bytes past {@code actual} read as 0. */
  @Override
  public synchronized long readConfig(int offset, int size) {
    if (offset < 0 || size < 1 || size > 8 || offset > VirtioBalloonSpec.CONFIG_SIZE - size) {
      logGuestError(
          String.format(
              "configuration read of %d bytes at offset %d goes past the %d bytes the device has",
              size, offset, VirtioBalloonSpec.CONFIG_SIZE));
      if (offset < 0 || size < 1 || size > 8) {
        return 0;
      }
    }
    long space = Integer.toUnsignedLong(numPages) | (Integer.toUnsignedLong(actual) << 32);
    long value = 0;
    for (int i = 0; i < size && offset + i < VirtioBalloonSpec.CONFIG_SIZE; i++) {
      value |= ((space >>> (8 * (offset + i))) & 0xffL) << (8 * i);
    }
    return value;
  }

  /** Stores the driver's writes to {@code actual}; {@code num_pages} is read-only (5.5.4). */
  @Override
  public synchronized void writeConfig(int offset, int size, long value) {
    int start = VirtioBalloonSpec.CONFIG_ACTUAL;
    if (offset < start || size < 1 || size > 4 || offset > VirtioBalloonSpec.CONFIG_SIZE - size) {
      logGuestError(
          String.format(
              "configuration write of %d bytes at offset %d dropped; only `actual` (4 bytes at"
                  + " offset %d) is writable",
              size, offset, start));
      return;
    }
    // A narrow write replaces only its own bytes of the field.
    int shift = 8 * (offset - start);
    long mask = (size == 4 ? 0xffff_ffffL : (1L << (8 * size)) - 1) << shift;
    long field = Integer.toUnsignedLong(actual);
    actual = (int) ((field & ~mask) | ((value << shift) & mask));
  }

  @Override
  public synchronized void activate(
      GuestMemory memory, long negotiated, VirtioInterrupt interrupt) {
    if (!inflateQueue.isActive()) {
      metrics.activateFails.incrementAndGet();
      LOG.warn(
          "virtio-balloon: the driver started the device without making its inflate queue ready;"
              + " the balloon will not inflate");
      return;
    }
    this.memory = memory;
    this.interrupt = interrupt;
    this.active = true;
    this.broken = false;
    // Linux's driver posts its first statistics buffer and notifies before it sets DRIVER_OK, when
    // the device was not yet active and ignored the notification; take that buffer now.
    if (statsQueue != null && statsQueue.isActive()) {
      try {
        takeStats(statsQueue);
      } catch (VirtqueueException e) {
        stop("the driver broke the virtqueue rules: " + e.getMessage(), null);
      }
    }
    LOG.debug(
        "virtio-balloon: active with features 0x{}, target {} pages",
        Long.toHexString(negotiated),
        Integer.toUnsignedString(numPages));
  }

  @Override
  public synchronized void reset() {
    active = false;
    broken = false;
    memory = null;
    interrupt = null;
    heldStatsHead = -1;
    // After a reset the balloon contains no pages.
    actual = 0;
  }

  /**
   * Handles the buffers in queue {@code index}, then raises the used-buffer interrupt if the driver
   * asked for one (virtio 1.2, 2.7.10). Errors are counted and logged here, so nothing reaches the
   * event loop unless the needs-reset callback throws.
   */
  @Override
  public void processQueue(int index) {
    boolean failed;
    synchronized (this) {
      failed = handleQueue(index);
    }
    if (failed) {
      // Called without this device's lock: MmioTransport.fail takes the transport's lock, and the
      // transport holds that lock when it calls reset() or activate() here.
      needsReset.run();
    }
  }

  /** Returns true when the queue broke and the device now waits for a reset. */
  private boolean handleQueue(int index) {
    if (!active || broken || index < 0 || index >= queues.size()) {
      return false;
    }
    Virtqueue queue = queues.get(index);
    if (!queue.isActive()) {
      return false;
    }
    int usedBefore = queue.usedIndex();
    try {
      switch (index) {
        case VirtioBalloonSpec.INFLATEQ -> {
          metrics.inflateCount.incrementAndGet();
          drainPages(queue, this::inflate);
        }
        case VirtioBalloonSpec.DEFLATEQ -> {
          metrics.deflateCount.incrementAndGet();
          drainPages(queue, this::deflate);
        }
        default -> takeStats(queue);
      }
    } catch (VirtqueueException e) {
      stop("the driver broke the virtqueue rules: " + e.getMessage(), null);
    } catch (RuntimeException e) {
      // The queue checks every guest address, so an exception here is a Kiln bug. It must still
      // not reach the event loop, and the device cannot trust its queue state after it.
      stop("queue handling failed: " + e, e);
    }
    raiseIfNeeded(queue, usedBefore);
    return broken;
  }

  /** Takes every chain of an inflate or deflate queue and hands each page frame number on. */
  private void drainPages(Virtqueue queue, PageHandler handler) throws VirtqueueException {
    DescriptorChain chain;
    while ((chain = queue.pop()) != null) {
      handler.handle(chain);
      queue.addUsed(chain.head(), 0);
    }
  }

  @FunctionalInterface
  private interface PageHandler {
    void handle(DescriptorChain chain) throws VirtqueueException;
  }

  private void inflate(DescriptorChain chain) throws VirtqueueException {
    PageReleaser releaser = new PageReleaser(memory);
    forEachPfn(chain, releaser::add);
    releaser.finish();
    inflatedPages.addAndGet(releaser.releasedPages());
    if (releaser.skippedPages() > 0) {
      skippedPages.addAndGet(releaser.skippedPages());
      logGuestError(
          releaser.skippedPages() + " inflated page frame numbers lie outside guest RAM; skipped");
    }
    if (releaser.failedPages() > 0) {
      releaseFailedPages.addAndGet(releaser.failedPages());
      // Not the guest's fault, but it may repeat on every request, so it shares the limit.
      logGuestError(
          "giving "
              + releaser.failedPages()
              + " inflated pages back to the host failed; they stay mapped: "
              + releaser.firstError().getMessage());
    }
  }

  private void deflate(DescriptorChain chain) throws VirtqueueException {
    long[] outside = {0};
    forEachPfn(
        chain,
        pfn -> {
          long address = pfn << VirtioBalloonSpec.PFN_SHIFT;
          if (memory.contains(address, VirtioBalloonSpec.PAGE_SIZE)) {
            deflatedPages.incrementAndGet();
            return true;
          }
          outside[0]++;
          return false;
        });
    if (outside[0] > 0) {
      skippedPages.addAndGet(outside[0]);
      logGuestError(outside[0] + " deflated page frame numbers lie outside guest RAM; skipped");
    }
  }

  /**
   * Reads the le32 page frame numbers of a chain in order (virtio 1.2, 5.5.6).
   *
   * @throws VirtqueueException when a buffer is device-writable or not a whole number of page frame
   *     numbers long
   */
  private void forEachPfn(DescriptorChain chain, LongPredicate consumer) throws VirtqueueException {
    for (Descriptor d : chain.descriptors()) {
      if (d.writable()) {
        throw new VirtqueueException(
            "chain " + chain.head() + ": a page frame number buffer is device-writable");
      }
      if (d.length() % VirtioBalloonSpec.PFN_SIZE != 0) {
        throw new VirtqueueException(
            String.format(
                "chain %d: buffer length %d is not a multiple of %d bytes (one le32 page frame"
                    + " number each)",
                chain.head(), d.length(), VirtioBalloonSpec.PFN_SIZE));
      }
      for (long at = 0; at < d.length(); at += VirtioBalloonSpec.PFN_SIZE) {
        consumer.test(Integer.toUnsignedLong(memory.readU32(d.address() + at)));
      }
    }
  }

  /**
   * Records the statistics in a statsq chain and keeps the chain until {@link #requestStats}, as
   * virtio 1.2, 5.5.6.3 describes.
   */
  private void takeStats(Virtqueue queue) throws VirtqueueException {
    DescriptorChain chain;
    while ((chain = queue.pop()) != null) {
      if (heldStatsHead >= 0) {
        // The driver posted another buffer while the device held one; return the older one so
        // that it is not lost.
        queue.addUsed(heldStatsHead, 0);
      }
      heldStatsHead = chain.head();
      recordStats(chain);
    }
  }

  private void recordStats(DescriptorChain chain) throws VirtqueueException {
    long length = 0;
    for (Descriptor d : chain.descriptors()) {
      if (d.writable()) {
        throw new VirtqueueException(
            "chain " + chain.head() + ": a statistics buffer is device-writable");
      }
      length += d.length();
    }
    if (length % VirtioBalloonSpec.STAT_SIZE != 0 || length > MAX_STATS_BYTES) {
      metrics.statsUpdateFails.incrementAndGet();
      logGuestError(
          String.format(
              "statistics buffer of %d bytes dropped; it must be a multiple of %d bytes and at"
                  + " most %d",
              length, VirtioBalloonSpec.STAT_SIZE, MAX_STATS_BYTES));
      return;
    }
    byte[] bytes = new byte[(int) length];
    int filled = 0;
    for (Descriptor d : chain.descriptors()) {
      byte[] part = memory.read(d.address(), d.length());
      System.arraycopy(part, 0, bytes, filled, part.length);
      filled += part.length;
    }
    for (int at = 0; at < bytes.length; at += VirtioBalloonSpec.STAT_SIZE) {
      int tag = (bytes[at] & 0xff) | (bytes[at + 1] & 0xff) << 8;
      long value = 0;
      for (int i = 7; i >= 0; i--) {
        value = (value << 8) | (bytes[at + 2 + i] & 0xffL);
      }
      // virtio 1.2, 5.5.6.3.2: the device ignores tags it does not recognize.
      if (tag <= VirtioBalloonSpec.VIRTIO_BALLOON_S_HTLB_PGFAIL) {
        stats.put(tag, value);
      }
    }
    metrics.statsUpdatesCount.incrementAndGet();
  }

  /**
   * Returns the kept statistics buffer to the guest, which prompts its driver to send fresh values.
   *
   * @return false when the device is not active or has no statistics buffer
   */
  public boolean requestStats() {
    synchronized (this) {
      if (!active || broken || statsQueue == null || heldStatsHead < 0) {
        return false;
      }
      int usedBefore = statsQueue.usedIndex();
      statsQueue.addUsed(heldStatsHead, 0);
      heldStatsHead = -1;
      raiseIfNeeded(statsQueue, usedBefore);
      return true;
    }
  }

  /** Returns the last value the guest reported for each statistic tag (5.5.6.3), by tag. */
  public synchronized Map<Integer, Long> stats() {
    return Collections.unmodifiableMap(new TreeMap<>(stats));
  }

  /**
   * Sets a new target size and raises a configuration-change interrupt, so that the driver reads
   * {@code num_pages} again (virtio 1.2, 5.5.6). Before the driver starts the device, the new
   * target waits until the driver reads the configuration.
   *
   * @param mib the target in MiB
   * @throws IllegalArgumentException when {@code mib} is negative or above {@link #MAX_TARGET_MIB}
   */
  public void setTargetMib(long mib) {
    int pages = pagesFor(mib);
    VirtioInterrupt raise;
    synchronized (this) {
      numPages = pages;
      raise = active ? interrupt : null;
    }
    if (raise != null) {
      raise.raise(VirtioSpec.INTERRUPT_CONFIG_CHANGE);
    }
    LOG.info(
        "virtio-balloon: target set to {} MiB ({} pages)", mib, Integer.toUnsignedString(pages));
  }

  /** Returns the target in 4 KiB pages, {@code num_pages}, as an unsigned value. */
  public synchronized long targetPages() {
    return Integer.toUnsignedLong(numPages);
  }

  /** Returns the balloon size the driver reported in {@code actual}, in 4 KiB pages. */
  public synchronized long actualPages() {
    return Integer.toUnsignedLong(actual);
  }

  /** Returns the pages inflated and given back to the host since the VM started. */
  public long inflatedPages() {
    return inflatedPages.get();
  }

  /** Returns the pages the guest took back through the deflate queue since the VM started. */
  public long deflatedPages() {
    return deflatedPages.get();
  }

  /** Returns the page frame numbers skipped because they lie outside guest RAM. */
  public long skippedPages() {
    return skippedPages.get();
  }

  /** Returns the inflated pages that stayed mapped because {@code madvise} failed. */
  public long releaseFailedPages() {
    return releaseFailedPages.get();
  }

  private void raiseIfNeeded(Virtqueue queue, int usedBefore) {
    try {
      if (queue.usedIndex() != usedBefore && queue.needsInterrupt(usedBefore)) {
        interrupt.raise(VirtioSpec.INTERRUPT_USED_BUFFER);
      }
    } catch (RuntimeException e) {
      stop("raising the interrupt failed: " + e, e);
    }
  }

  /**
   * Marks the device broken until the next reset, and logs why with its own repeat limit.
   *
   * @param bug the exception behind a Kiln bug, logged with its stack trace, or null
   */
  private void stop(String reason, RuntimeException bug) {
    broken = true;
    metrics.eventFails.incrementAndGet();
    long count = queueFailures.incrementAndGet();
    if (count <= LOGGED_QUEUE_FAILURES) {
      LOG.error(
          "virtio-balloon: {}; the device needs a reset (queue failure {}{})",
          reason,
          count,
          count == LOGGED_QUEUE_FAILURES ? "; later ones are counted, not logged" : "",
          bug);
    }
  }

  private void logGuestError(String message) {
    long count = guestErrors.incrementAndGet();
    if (count <= LOGGED_GUEST_ERRORS) {
      LOG.warn(
          "virtio-balloon: {} (error {}{})",
          message,
          count,
          count == LOGGED_GUEST_ERRORS ? "; later ones are counted, not logged" : "");
    }
  }
}
