package dev.kiln.vmm.devices.virtio.block;

import dev.kiln.vmm.devices.virtio.MmioTransport;
import dev.kiln.vmm.devices.virtio.VirtioSpec;
import dev.kiln.vmm.memory.GuestMemory;

/**
 * The driver side of a virtio-mmio device for tests: it negotiates through the transport's
 * registers as Linux does, lays out one split virtqueue in guest memory by hand and builds request
 * chains in it. Raw writers let a test break the ring rules on purpose. Tests of other virtio
 * devices use its public methods, which are not specific to the block device.
 */
public final class TestDriver {
  // virtio-mmio register offsets (virtio 1.2, 4.2.2, table 4.1).
  static final int DEVICE_FEATURES = 0x010;
  static final int DEVICE_FEATURES_SEL = 0x014;
  static final int DRIVER_FEATURES = 0x020;
  static final int DRIVER_FEATURES_SEL = 0x024;
  static final int QUEUE_SEL = 0x030;
  static final int QUEUE_NUM_MAX = 0x034;
  static final int QUEUE_NUM = 0x038;
  static final int QUEUE_READY = 0x044;
  static final int INTERRUPT_STATUS = 0x060;
  static final int STATUS = 0x070;
  static final int QUEUE_DESC_LOW = 0x080;
  static final int QUEUE_DESC_HIGH = 0x084;
  static final int QUEUE_DRIVER_LOW = 0x090;
  static final int QUEUE_DRIVER_HIGH = 0x094;
  static final int QUEUE_DEVICE_LOW = 0x0a0;
  static final int QUEUE_DEVICE_HIGH = 0x0a4;
  static final int CONFIG = 0x100;

  // Where queue 0 and the buffers live in guest memory.
  static final long DESCRIPTORS = 0x1000;
  static final long AVAILABLE = 0x2000;
  static final long USED = 0x3000;
  static final long HEAP = 0x10000;

  /** The distance between the rings of consecutive queues; queue q starts at q times this. */
  static final long QUEUE_STRIDE = 0x3000;

  /** The maximum number of queues that fit below {@link #HEAP}. */
  public static final int MAX_QUEUES = 5;

  /** One buffer of a chain to build. */
  public record Buffer(long address, int length, boolean writable) {}

  /** One element of the used ring. */
  public record Used(int head, int length) {}

  final GuestMemory memory;
  final MmioTransport transport;
  private int queueSize;
  private int selected;
  private int[] nextDescriptors = new int[1];
  private int[] availableIndexes = new int[1];
  private long heapNext = HEAP;

  public TestDriver(GuestMemory memory, MmioTransport transport) {
    this.memory = memory;
    this.transport = transport;
  }

  int read(int offset) {
    return (int) transport.read(offset, 4);
  }

  void write(int offset, long value) {
    transport.write(offset, 4, value);
  }

  /** Returns the InterruptStatus register: the reasons for the device's pending interrupt. */
  public int interruptStatus() {
    return read(INTERRUPT_STATUS);
  }

  /** Returns the device status register, {@code DEVICE_NEEDS_RESET} included. */
  public int deviceStatus() {
    return read(STATUS);
  }

  /** Returns the 64 feature bits the device offers. */
  public long deviceFeatures() {
    write(DEVICE_FEATURES_SEL, 0);
    long low = Integer.toUnsignedLong(read(DEVICE_FEATURES));
    write(DEVICE_FEATURES_SEL, 1);
    long high = Integer.toUnsignedLong(read(DEVICE_FEATURES));
    return low | (high << 32);
  }

  /**
   * Runs the initialization sequence of virtio 1.2, 3.1.1 with one queue of {@code size} entries.
   *
   * @param features the features to accept, VIRTIO_F_VERSION_1 included
   * @throws IllegalStateException when the device rejects the features
   */
  public void start(long features, int size) {
    start(features, size, 1);
  }

  /**
   * Runs the initialization sequence of virtio 1.2, 3.1.1 with {@code queues} queues of {@code
   * size} entries each, then selects queue 0 for {@link #submit} and the used-ring readers.
   *
   * @param features the features to accept, VIRTIO_F_VERSION_1 included
   * @param queues the number of queues to make ready, 1 to {@link #MAX_QUEUES}
   * @throws IllegalStateException when the device rejects the features
   */
  public void start(long features, int size, int queues) {
    start(features, size, queues, () -> {});
  }

  /**
   * Runs {@link #start(long, int, int)}, calling {@code beforeDriverOk} once the queues are ready
   * and before {@code DRIVER_OK}, where Linux's drivers post their first buffers.
   */
  public void start(long features, int size, int queues, Runnable beforeDriverOk) {
    if (queues < 1 || queues > MAX_QUEUES || size > 256) {
      throw new IllegalArgumentException(
          "the test layout fits 1 to " + MAX_QUEUES + " queues of at most 256 entries");
    }
    write(STATUS, 0);
    write(STATUS, VirtioSpec.STATUS_ACKNOWLEDGE);
    write(STATUS, VirtioSpec.STATUS_ACKNOWLEDGE | VirtioSpec.STATUS_DRIVER);
    write(DRIVER_FEATURES_SEL, 0);
    write(DRIVER_FEATURES, features & 0xffff_ffffL);
    write(DRIVER_FEATURES_SEL, 1);
    write(DRIVER_FEATURES, features >>> 32);
    int status =
        VirtioSpec.STATUS_ACKNOWLEDGE | VirtioSpec.STATUS_DRIVER | VirtioSpec.STATUS_FEATURES_OK;
    write(STATUS, status);
    if ((read(STATUS) & VirtioSpec.STATUS_FEATURES_OK) == 0) {
      throw new IllegalStateException("device rejected features " + Long.toHexString(features));
    }

    memory.zero(DESCRIPTORS, HEAP - DESCRIPTORS);
    queueSize = size;
    selected = 0;
    nextDescriptors = new int[queues];
    availableIndexes = new int[queues];
    for (int q = 0; q < queues; q++) {
      long offset = QUEUE_STRIDE * q;
      write(QUEUE_SEL, q);
      write(QUEUE_NUM, size);
      write(QUEUE_DESC_LOW, DESCRIPTORS + offset);
      write(QUEUE_DESC_HIGH, 0);
      write(QUEUE_DRIVER_LOW, AVAILABLE + offset);
      write(QUEUE_DRIVER_HIGH, 0);
      write(QUEUE_DEVICE_LOW, USED + offset);
      write(QUEUE_DEVICE_HIGH, 0);
      write(QUEUE_READY, 1);
    }
    beforeDriverOk.run();
    write(STATUS, status | VirtioSpec.STATUS_DRIVER_OK);
  }

  /** Makes {@link #submit}, {@link #usedIndex} and {@link #used} work on queue {@code queue}. */
  public void selectQueue(int queue) {
    if (queue < 0 || queue >= nextDescriptors.length) {
      throw new IllegalArgumentException(
          "queue " + queue + " was not set up; start() made " + nextDescriptors.length);
    }
    selected = queue;
  }

  private long descriptors() {
    return DESCRIPTORS + QUEUE_STRIDE * selected;
  }

  private long available() {
    return AVAILABLE + QUEUE_STRIDE * selected;
  }

  private long usedRing() {
    return USED + QUEUE_STRIDE * selected;
  }

  /** Reserves {@code length} bytes of guest memory, 16-byte aligned, filled with {@code fill}. */
  public long allocate(int length, int fill) {
    long address = heapNext;
    heapNext = (heapNext + length + 15) & ~15L;
    memory.slice(address, length).fill((byte) fill);
    return address;
  }

  /** Allocates a device-readable request header. */
  Buffer header(int type, long sector) {
    long address = allocate(16, 0);
    memory.writeU32(address, type);
    memory.writeU32(address + 4, 0);
    memory.writeU64(address + 8, sector);
    return new Buffer(address, 16, false);
  }

  /**
   * Allocates a device-writable status byte, set to 0xff so that a test can check whether it
   * changed.
   */
  Buffer status() {
    return new Buffer(allocate(1, 0xff), 1, true);
  }

  /** Allocates a device-readable data buffer holding {@code data}. */
  public Buffer readable(byte[] data) {
    long address = allocate(data.length, 0);
    memory.write(address, data);
    return new Buffer(address, data.length, false);
  }

  /** Allocates a device-writable data buffer of {@code length} bytes, filled with 0xee. */
  public Buffer writable(int length) {
    return new Buffer(allocate(length, 0xee), length, true);
  }

  /** Writes the buffers as a chain of consecutive descriptors and returns its head. */
  int chain(Buffer... buffers) {
    int head = nextDescriptors[selected];
    for (int i = 0; i < buffers.length; i++) {
      int index = (head + i) % queueSize;
      boolean last = i == buffers.length - 1;
      int flags =
          (buffers[i].writable() ? VirtioSpec.VIRTQ_DESC_F_WRITE : 0)
              | (last ? 0 : VirtioSpec.VIRTQ_DESC_F_NEXT);
      writeDescriptor(
          index, buffers[i].address(), buffers[i].length(), flags, (index + 1) % queueSize);
    }
    nextDescriptors[selected] = (head + buffers.length) % queueSize;
    return head;
  }

  /** Writes one descriptor table entry (virtio 1.2, 2.7.5) as given. */
  void writeDescriptor(int index, long address, int length, int flags, int next) {
    long at = descriptors() + 16L * index;
    memory.writeU64(at, address);
    memory.writeU32(at + 8, length);
    memory.writeU16(at + 12, flags);
    memory.writeU16(at + 14, next);
  }

  /** Puts a chain head in the available ring and publishes it by advancing the index. */
  void publish(int head) {
    int index = availableIndexes[selected];
    memory.writeU16(available() + 4 + 2L * (index % queueSize), head);
    availableIndexes[selected] = (index + 1) & 0xffff;
    memory.writeU16(available() + 2, availableIndexes[selected]);
  }

  /** Builds a chain and publishes it; returns its head. */
  public int submit(Buffer... buffers) {
    int head = chain(buffers);
    publish(head);
    return head;
  }

  /** Overwrites the available index, as a broken driver could. */
  void setAvailableIndex(int index) {
    memory.writeU16(available() + 2, index);
  }

  /** Sets the available ring's flags, such as VIRTQ_AVAIL_F_NO_INTERRUPT. */
  void setAvailableFlags(int flags) {
    memory.writeU16(available(), flags);
  }

  /** Sets used_event, the used index after which the driver wants an interrupt (2.7.10). */
  void setUsedEvent(int index) {
    memory.writeU16(available() + 4 + 2L * queueSize, index);
  }

  /** Returns avail_event, which the device writes when VIRTIO_RING_F_EVENT_IDX is negotiated. */
  int availableEvent() {
    return Short.toUnsignedInt(memory.readU16(usedRing() + 4 + 8L * queueSize));
  }

  /** Returns the device's used index. */
  public int usedIndex() {
    return Short.toUnsignedInt(memory.readU16(usedRing() + 2));
  }

  /** Returns used ring element {@code i}, counted from the start. */
  public Used used(int i) {
    long at = usedRing() + 4 + 8L * (i % queueSize);
    return new Used(memory.readU32(at), memory.readU32(at + 4));
  }

  /** Returns the byte a status buffer holds. */
  int statusOf(Buffer status) {
    return Byte.toUnsignedInt(memory.readU8(status.address()));
  }
}
