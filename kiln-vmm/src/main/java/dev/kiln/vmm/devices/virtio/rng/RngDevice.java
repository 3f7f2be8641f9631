package dev.kiln.vmm.devices.virtio.rng;

import dev.kiln.vmm.devices.virtio.Descriptor;
import dev.kiln.vmm.devices.virtio.DescriptorChain;
import dev.kiln.vmm.devices.virtio.VirtioDevice;
import dev.kiln.vmm.devices.virtio.VirtioInterrupt;
import dev.kiln.vmm.devices.virtio.VirtioSpec;
import dev.kiln.vmm.devices.virtio.Virtqueue;
import dev.kiln.vmm.devices.virtio.VirtqueueException;
import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.ratelimiter.RateLimiter;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The entropy device (virtio 1.2, 5.4): one queue of device-writable buffers, each filled with
 * bytes from the host's secure random source. Firecracker's {@code entropy} section configures it.
 *
 * <p>With a {@link RateLimiter}, a request that the limiter holds back stays in the available ring
 * until the limiter's timer fires and {@link #onRateLimiterTimer} handles the queue again.
 */
public final class RngDevice implements VirtioDevice {
  private static final Logger LOG = LoggerFactory.getLogger(RngDevice.class);
  private static final int QUEUE_SIZE = 256;

  /** The maximum number of bytes one request receives; larger buffers are filled up to this. */
  static final int MAX_REQUEST_BYTES = 64 * 1024;

  private static final int LOGGED_ERRORS = 10;

  private final Virtqueue queue = new Virtqueue(QUEUE_SIZE);
  private final SecureRandom random;
  private final Runnable needsReset;
  private final RateLimiter rateLimiter;
  private final AtomicLong bytesServed = new AtomicLong();
  private final AtomicLong requests = new AtomicLong();
  private final AtomicLong errors = new AtomicLong();
  private final AtomicLong rateLimiterThrottledEvents = new AtomicLong();
  private VirtioInterrupt interrupt;

  /**
   * Creates the device without a rate limiter.
   *
   * @param random the entropy source, {@code new SecureRandom()} outside tests
   * @param needsReset called when the driver breaks the queue rules
   */
  public RngDevice(SecureRandom random, Runnable needsReset) {
    this(random, null, needsReset);
  }

  /**
   * Creates the device.
   *
   * @param random the entropy source, {@code new SecureRandom()} outside tests
   * @param rateLimiter limits the requests and bytes served, or null for no limit. Its timer must
   *     call {@link #onRateLimiterTimer}
   * @param needsReset called when the driver breaks the queue rules
   */
  public RngDevice(SecureRandom random, RateLimiter rateLimiter, Runnable needsReset) {
    this.random = random;
    this.rateLimiter = rateLimiter;
    this.needsReset = needsReset;
  }

  /** Returns the rate limiter, or null when the device has none. */
  public RateLimiter rateLimiter() {
    return rateLimiter;
  }

  @Override
  public int deviceType() {
    return VirtioSpec.DEVICE_ID_RNG;
  }

  @Override
  public long availableFeatures() {
    return VirtioSpec.feature(VirtioSpec.VIRTIO_F_VERSION_1)
        | VirtioSpec.feature(VirtioSpec.VIRTIO_RING_F_EVENT_IDX);
  }

  @Override
  public List<Virtqueue> queues() {
    return List.of(queue);
  }

  @Override
  public long readConfig(int offset, int size) {
    return 0; // the entropy device has no configuration space
  }

  @Override
  public synchronized void activate(GuestMemory memory, long features, VirtioInterrupt interrupt) {
    this.interrupt = interrupt;
  }

  @Override
  public void processQueue(int index) {
    boolean broken;
    synchronized (this) {
      // A reset from a vCPU may come between notifications; after it there is nothing to serve.
      if (index != 0 || interrupt == null || !queue.isActive()) {
        return;
      }
      broken = serveRequests();
    }
    // Outside the device lock: the transport takes its own lock to mark the device broken.
    if (broken) {
      needsReset.run();
    }
  }

  /** Serves the available requests; returns true when the driver broke the queue rules. */
  private boolean serveRequests() {
    int usedBefore = queue.usedIndex();
    boolean broken = false;
    try {
      DescriptorChain chain;
      while ((chain = queue.pop()) != null) {
        if (rateLimiter != null && !rateLimiter.consume(requestedBytes(chain))) {
          // The request stays in the available ring; onRateLimiterTimer takes it again.
          queue.undoPop();
          rateLimiterThrottledEvents.incrementAndGet();
          break;
        }
        requests.incrementAndGet();
        queue.addUsed(chain.head(), fill(chain, queue.memory()));
      }
    } catch (VirtqueueException e) {
      if (errors.incrementAndGet() <= LOGGED_ERRORS) {
        LOG.warn("virtio-rng: invalid request ({} so far): {}", errors.get(), e.getMessage());
      }
      broken = true;
    }
    if (queue.usedIndex() != usedBefore && queue.needsInterrupt(usedBefore)) {
      interrupt.raise(VirtioSpec.INTERRUPT_USED_BUFFER);
    }
    return broken;
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
    processQueue(0);
  }

  /** Returns the bytes {@link #fill} will write: the writable buffers' length, at most 64 KiB. */
  private static long requestedBytes(DescriptorChain chain) {
    long total = 0;
    for (Descriptor d : chain.descriptors()) {
      if (d.writable()) {
        total += d.length();
      }
    }
    return Math.min(total, MAX_REQUEST_BYTES);
  }

  private int fill(DescriptorChain chain, GuestMemory memory) {
    int written = 0;
    for (Descriptor d : chain.descriptors()) {
      if (!d.writable() || written >= MAX_REQUEST_BYTES) {
        continue;
      }
      int length = Math.min(d.length(), MAX_REQUEST_BYTES - written);
      byte[] bytes = new byte[length];
      random.nextBytes(bytes);
      memory.write(d.address(), bytes);
      written += length;
    }
    bytesServed.addAndGet(written);
    return written;
  }

  @Override
  public synchronized void reset() {
    interrupt = null;
  }

  /** Returns the count of entropy bytes given to the guest. */
  public long bytesServed() {
    return bytesServed.get();
  }

  /** Returns the count of requests handled. */
  public long requests() {
    return requests.get();
  }

  /**
   * Returns the count of passes over the queue that the rate limiter stopped, leaving a request in
   * the ring; the counterpart of the block device's {@code rate_limiter_throttled_events}.
   */
  public long rateLimiterThrottledEvents() {
    return rateLimiterThrottledEvents.get();
  }
}
