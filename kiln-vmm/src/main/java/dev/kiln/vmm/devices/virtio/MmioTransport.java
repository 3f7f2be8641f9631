package dev.kiln.vmm.devices.virtio;

import dev.kiln.vmm.devices.BusDevice;
import dev.kiln.vmm.devices.InterruptLine;
import dev.kiln.vmm.memory.GuestMemory;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The virtio-mmio transport, version 2 (virtio 1.2, 4.2.2): the register page through which the
 * driver discovers a device, negotiates features, sets up queues and drives the status state
 * machine. The device starts when the driver sets {@code DRIVER_OK} with {@code FEATURES_OK}
 * accepted and every queue it enabled valid; a driver that breaks these rules gets {@code
 * DEVICE_NEEDS_RESET}, and the VMM carries on.
 *
 * <p>The transport calls the device's {@code activate} and {@code reset} with its own lock held,
 * and {@link #fail} takes that lock, so a device must not hold a lock of its own while it calls its
 * needs-reset callback.
 */
public final class MmioTransport implements BusDevice {
  private static final Logger LOG = LoggerFactory.getLogger(MmioTransport.class);

  /** "virt" in little-endian order. */
  public static final int MAGIC_VALUE = 0x74726976;

  /** The transport version for virtio 1.x devices. */
  public static final int VERSION = 2;

  /** The vendor id Kiln reports. */
  public static final int VENDOR_ID = 0;

  // Register offsets (virtio 1.2, table 4.1).
  static final int MAGIC = 0x000;
  static final int VERSION_REGISTER = 0x004;
  static final int DEVICE_ID = 0x008;
  static final int VENDOR = 0x00c;
  static final int DEVICE_FEATURES = 0x010;
  static final int DEVICE_FEATURES_SEL = 0x014;
  static final int DRIVER_FEATURES = 0x020;
  static final int DRIVER_FEATURES_SEL = 0x024;
  static final int QUEUE_SEL = 0x030;
  static final int QUEUE_NUM_MAX = 0x034;
  static final int QUEUE_NUM = 0x038;
  static final int QUEUE_READY = 0x044;
  static final int QUEUE_NOTIFY = 0x050;
  static final int INTERRUPT_STATUS = 0x060;
  static final int INTERRUPT_ACK = 0x064;
  static final int STATUS = 0x070;
  static final int QUEUE_DESC_LOW = 0x080;
  static final int QUEUE_DESC_HIGH = 0x084;
  static final int QUEUE_DRIVER_LOW = 0x090;
  static final int QUEUE_DRIVER_HIGH = 0x094;
  static final int QUEUE_DEVICE_LOW = 0x0a0;
  static final int QUEUE_DEVICE_HIGH = 0x0a4;
  static final int CONFIG_GENERATION = 0x0fc;
  static final int CONFIG = 0x100;

  private final String name;
  private final VirtioDevice device;
  private final GuestMemory memory;
  private final InterruptLine interruptLine;
  private final IntConsumer notifier;
  private final AtomicInteger interruptStatus = new AtomicInteger();
  private int configGeneration; // guarded by this

  private int status;
  private int deviceFeaturesSelect;
  private int driverFeaturesSelect;
  private long driverFeatures;
  private int queueSelect;
  private boolean active;

  /**
   * @param name the device's name for logs, such as {@code block rootfs}
   * @param interruptLine the line (an irqfd) that carries the device's interrupt
   * @param notifier called with the queue index when the driver writes QueueNotify; Kiln routes it
   *     to the device's event loop
   */
  public MmioTransport(
      String name,
      VirtioDevice device,
      GuestMemory memory,
      InterruptLine interruptLine,
      IntConsumer notifier) {
    this.name = name;
    this.device = device;
    this.memory = memory;
    this.interruptLine = interruptLine;
    this.notifier = notifier;
  }

  /** Returns the device behind this transport. */
  public VirtioDevice device() {
    return device;
  }

  /** Returns the status register, for tests and logs. */
  public synchronized int status() {
    return status;
  }

  private Virtqueue selectedQueue() {
    List<Virtqueue> queues = device.queues();
    // QueueSel is an unsigned 32-bit register; values past the queue count select nothing.
    return queueSelect >= 0 && queueSelect < queues.size() ? queues.get(queueSelect) : null;
  }

  @Override
  public synchronized long read(long offset, int size) {
    if (offset >= CONFIG) {
      return device.readConfig((int) (offset - CONFIG), size);
    }
    if (size != 4) {
      return 0; // the spec allows only 32-bit accesses to the registers
    }
    Virtqueue queue = selectedQueue();
    return switch ((int) offset) {
      case MAGIC -> MAGIC_VALUE;
      case VERSION_REGISTER -> VERSION;
      case DEVICE_ID -> device.deviceType();
      case VENDOR -> VENDOR_ID;
      case DEVICE_FEATURES ->
          deviceFeaturesSelect > 1
              ? 0
              : (device.availableFeatures() >>> (32 * deviceFeaturesSelect)) & 0xffff_ffffL;
      case QUEUE_NUM_MAX -> queue == null ? 0 : queue.maxSize();
      case QUEUE_READY -> queue != null && queue.ready() ? 1 : 0;
      case INTERRUPT_STATUS -> interruptStatus.get();
      case STATUS -> status;
      case CONFIG_GENERATION -> configGeneration;
      default -> 0;
    };
  }

  @Override
  public void write(long offset, int size, long value) {
    if (offset >= CONFIG) {
      synchronized (this) {
        device.writeConfig((int) (offset - CONFIG), size, value);
      }
      return;
    }
    if (size != 4) {
      return;
    }
    int v = (int) value;
    if (offset == QUEUE_NOTIFY) {
      // Notifications normally arrive through an ioeventfd; this path serves the rest.
      if (active) {
        notifier.accept(v);
      }
      return;
    }
    synchronized (this) {
      writeRegister((int) offset, v);
    }
  }

  private void writeRegister(int offset, int v) {
    Virtqueue queue = selectedQueue();
    switch (offset) {
      case DEVICE_FEATURES_SEL -> deviceFeaturesSelect = v;
      case DRIVER_FEATURES_SEL -> driverFeaturesSelect = v;
      case DRIVER_FEATURES -> {
        if ((status & VirtioSpec.STATUS_FEATURES_OK) == 0 && driverFeaturesSelect <= 1) {
          long shift = 32L * driverFeaturesSelect;
          driverFeatures =
              (driverFeatures & ~(0xffff_ffffL << shift)) | ((Integer.toUnsignedLong(v)) << shift);
        }
      }
      case QUEUE_SEL -> queueSelect = v;
      case QUEUE_NUM -> {
        if (queue != null && !active) {
          queue.setSize(v);
        }
      }
      case QUEUE_READY -> {
        if (queue != null && !active) {
          queue.setReady(v == 1);
        }
      }
      case INTERRUPT_ACK -> interruptStatus.getAndUpdate(s -> s & ~v);
      case STATUS -> writeStatus(v);
      case QUEUE_DESC_LOW ->
          setLow(queue, v, Virtqueue::descriptorTable, Virtqueue::setDescriptorTable);
      case QUEUE_DESC_HIGH ->
          setHigh(queue, v, Virtqueue::descriptorTable, Virtqueue::setDescriptorTable);
      case QUEUE_DRIVER_LOW ->
          setLow(queue, v, Virtqueue::availableRing, Virtqueue::setAvailableRing);
      case QUEUE_DRIVER_HIGH ->
          setHigh(queue, v, Virtqueue::availableRing, Virtqueue::setAvailableRing);
      case QUEUE_DEVICE_LOW -> setLow(queue, v, Virtqueue::usedRing, Virtqueue::setUsedRing);
      case QUEUE_DEVICE_HIGH -> setHigh(queue, v, Virtqueue::usedRing, Virtqueue::setUsedRing);
      default -> {
        // Read-only registers and unknown offsets: the write is dropped.
      }
    }
  }

  private interface AddressGetter {
    long get(Virtqueue queue);
  }

  private interface AddressSetter {
    void set(Virtqueue queue, long address);
  }

  private void setLow(Virtqueue queue, int v, AddressGetter get, AddressSetter set) {
    if (queue != null && !active) {
      set.set(queue, (get.get(queue) & ~0xffff_ffffL) | Integer.toUnsignedLong(v));
    }
  }

  private void setHigh(Virtqueue queue, int v, AddressGetter get, AddressSetter set) {
    if (queue != null && !active) {
      set.set(queue, (get.get(queue) & 0xffff_ffffL) | (Integer.toUnsignedLong(v) << 32));
    }
  }

  private void writeStatus(int v) {
    if (v == 0) {
      reset();
      return;
    }
    int added = v & ~status;
    if ((added & VirtioSpec.STATUS_FEATURES_OK) != 0) {
      long offered = device.availableFeatures();
      boolean subset = (driverFeatures & ~offered) == 0;
      boolean version1 = (driverFeatures & VirtioSpec.feature(VirtioSpec.VIRTIO_F_VERSION_1)) != 0;
      if (!subset || !version1) {
        LOG.warn(
            "virtio {}: driver features 0x{} rejected ({}); FEATURES_OK stays clear",
            name,
            Long.toHexString(driverFeatures),
            !version1
                ? "VIRTIO_F_VERSION_1 missing"
                : "not offered: " + Long.toHexString(driverFeatures & ~offered));
        v &= ~VirtioSpec.STATUS_FEATURES_OK;
      }
    }
    status = v;
    if ((added & VirtioSpec.STATUS_DRIVER_OK) != 0 && !active) {
      activate();
    }
  }

  private void activate() {
    if ((status & VirtioSpec.STATUS_FEATURES_OK) == 0) {
      fail("DRIVER_OK set without FEATURES_OK");
      return;
    }
    try {
      for (Virtqueue queue : device.queues()) {
        if (queue.ready()) {
          queue.activate(memory, driverFeatures);
        }
      }
    } catch (VirtqueueException e) {
      fail(e.getMessage());
      return;
    }
    active = true;
    device.activate(memory, driverFeatures, this::raise);
  }

  /**
   * Bumps the configuration generation and raises a configuration-change interrupt, when the driver
   * has the device running; a driver that sets it up later reads the new values anyway.
   */
  public synchronized void configChanged() {
    configGeneration++;
    if (active) {
      raise(VirtioSpec.INTERRUPT_CONFIG_CHANGE);
    }
  }

  /** Sets {@code DEVICE_NEEDS_RESET} and raises a configuration-change interrupt for the driver. */
  public synchronized void fail(String reason) {
    LOG.warn("virtio {}: needs reset: {}", name, reason);
    status |= VirtioSpec.STATUS_DEVICE_NEEDS_RESET;
    raise(VirtioSpec.INTERRUPT_CONFIG_CHANGE);
  }

  private void raise(int reasons) {
    interruptStatus.getAndUpdate(s -> s | reasons);
    interruptLine.trigger();
  }

  private void reset() {
    if (active) {
      device.reset();
    }
    for (Virtqueue queue : device.queues()) {
      queue.reset();
    }
    active = false;
    status = 0;
    driverFeatures = 0;
    deviceFeaturesSelect = 0;
    driverFeaturesSelect = 0;
    queueSelect = 0;
    interruptStatus.set(0);
  }
}
