package dev.kiln.vmm.devices.virtio.rng;

import dev.kiln.vmm.devices.virtio.Descriptor;
import dev.kiln.vmm.devices.virtio.DescriptorChain;
import dev.kiln.vmm.devices.virtio.VirtioDevice;
import dev.kiln.vmm.devices.virtio.VirtioInterrupt;
import dev.kiln.vmm.devices.virtio.VirtioSpec;
import dev.kiln.vmm.devices.virtio.Virtqueue;
import dev.kiln.vmm.devices.virtio.VirtqueueException;
import dev.kiln.vmm.memory.GuestMemory;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The entropy device (virtio 1.2, 5.4): one queue of device-writable buffers, each filled with
 * bytes from the host's secure random source. Firecracker's {@code entropy} section configures it.
 */
public final class RngDevice implements VirtioDevice {
  private static final Logger LOG = LoggerFactory.getLogger(RngDevice.class);
  private static final int QUEUE_SIZE = 256;

  /** The most bytes one request receives; larger buffers are filled up to this. */
  static final int MAX_REQUEST_BYTES = 64 * 1024;

  private static final int LOGGED_ERRORS = 10;

  private final Virtqueue queue = new Virtqueue(QUEUE_SIZE);
  private final SecureRandom random;
  private final Runnable needsReset;
  private final AtomicLong bytesServed = new AtomicLong();
  private final AtomicLong requests = new AtomicLong();
  private final AtomicLong errors = new AtomicLong();
  private VirtioInterrupt interrupt;

  /**
   * @param random the entropy source, {@code new SecureRandom()} outside tests
   * @param needsReset called when the driver breaks the queue rules
   */
  public RngDevice(SecureRandom random, Runnable needsReset) {
    this.random = random;
    this.needsReset = needsReset;
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
  public void activate(GuestMemory memory, long features, VirtioInterrupt interrupt) {
    this.interrupt = interrupt;
  }

  @Override
  public void processQueue(int index) {
    if (index != 0 || !queue.isActive()) {
      return;
    }
    int usedBefore = queue.usedIndex();
    try {
      DescriptorChain chain;
      while ((chain = queue.pop()) != null) {
        requests.incrementAndGet();
        queue.addUsed(chain.head(), fill(chain, queue.memory()));
      }
    } catch (VirtqueueException e) {
      if (errors.incrementAndGet() <= LOGGED_ERRORS) {
        LOG.warn("virtio-rng: invalid request ({} so far): {}", errors.get(), e.getMessage());
      }
      needsReset.run();
    }
    if (queue.usedIndex() != usedBefore && queue.needsInterrupt(usedBefore)) {
      interrupt.raise(VirtioSpec.INTERRUPT_USED_BUFFER);
    }
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
  public void reset() {
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
}
