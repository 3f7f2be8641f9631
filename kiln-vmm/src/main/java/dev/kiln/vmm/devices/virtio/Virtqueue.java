package dev.kiln.vmm.devices.virtio;

import dev.kiln.vmm.memory.GuestMemory;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * A split virtqueue (virtio 1.2, 2.7) as the device side sees it: it takes chains from the
 * available ring and returns them through the used ring, with {@code VIRTIO_RING_F_EVENT_IDX} and
 * indirect descriptors when negotiated. The driver may be hostile: every ring and descriptor
 * address is checked against guest RAM, chains are bounded by the queue size, and an available
 * index more than a queue size ahead is rejected.
 */
public final class Virtqueue {
  static final int DESCRIPTOR_SIZE = 16;
  static final int USED_ELEMENT_SIZE = 8;

  private final int maxSize;
  private int size;
  private boolean ready;
  private long descriptorTable;
  private long availableRing;
  private long usedRing;

  private GuestMemory memory;
  private boolean eventIndex;
  private boolean indirect;
  private int nextAvailable;
  private int nextUsed;

  /**
   * Creates a queue that the driver may size up to {@code maxSize} (a power of 2, at most 32768).
   */
  public Virtqueue(int maxSize) {
    if (maxSize <= 0 || maxSize > 32768 || Integer.bitCount(maxSize) != 1) {
      throw new IllegalArgumentException("queue size must be a power of 2 up to 32768: " + maxSize);
    }
    this.maxSize = maxSize;
    this.size = maxSize;
  }

  /** Returns the largest size the driver may choose ({@code QueueNumMax}). */
  public int maxSize() {
    return maxSize;
  }

  /** Returns the size the driver chose. */
  public int size() {
    return size;
  }

  void setSize(int size) {
    this.size = size;
  }

  boolean ready() {
    return ready;
  }

  void setReady(boolean ready) {
    this.ready = ready;
  }

  long descriptorTable() {
    return descriptorTable;
  }

  void setDescriptorTable(long address) {
    this.descriptorTable = address;
  }

  long availableRing() {
    return availableRing;
  }

  void setAvailableRing(long address) {
    this.availableRing = address;
  }

  long usedRing() {
    return usedRing;
  }

  void setUsedRing(long address) {
    this.usedRing = address;
  }

  /**
   * Checks the driver's settings and starts the queue on guest memory.
   *
   * @param features the negotiated feature bits
   * @throws VirtqueueException when the size is not a power of 2 within the maximum or a ring is
   *     misaligned or outside guest RAM
   */
  public void activate(GuestMemory memory, long features) throws VirtqueueException {
    if (size <= 0 || size > maxSize || Integer.bitCount(size) != 1) {
      throw new VirtqueueException(
          "queue size " + size + " is not a power of 2 between 1 and " + maxSize);
    }
    checkRing("descriptor table", descriptorTable, 16, (long) DESCRIPTOR_SIZE * size, memory);
    checkRing("available ring", availableRing, 2, 6 + 2L * size, memory);
    checkRing("used ring", usedRing, 4, 6 + (long) USED_ELEMENT_SIZE * size, memory);
    this.memory = memory;
    this.eventIndex = (features & VirtioSpec.feature(VirtioSpec.VIRTIO_RING_F_EVENT_IDX)) != 0;
    this.indirect = (features & VirtioSpec.feature(VirtioSpec.VIRTIO_RING_F_INDIRECT_DESC)) != 0;
    this.nextAvailable = 0;
    this.nextUsed = 0;
  }

  private static void checkRing(
      String name, long address, int alignment, long length, GuestMemory memory)
      throws VirtqueueException {
    if (address % alignment != 0) {
      throw new VirtqueueException(
          String.format("%s at %#x is not aligned to %d bytes", name, address, alignment));
    }
    if (!memory.contains(address, length)) {
      throw new VirtqueueException(
          String.format("%s at %#x (%d bytes) is outside guest RAM", name, address, length));
    }
  }

  /** Forgets the driver's settings, as a device reset does. */
  public void reset() {
    size = maxSize;
    ready = false;
    descriptorTable = 0;
    availableRing = 0;
    usedRing = 0;
    memory = null;
    nextAvailable = 0;
    nextUsed = 0;
  }

  /** Returns true once {@link #activate} succeeded and until {@link #reset}. */
  public boolean isActive() {
    return memory != null;
  }

  private int availableIndex() {
    int index = Short.toUnsignedInt(memory.readU16(availableRing + 2));
    // The ring entries the index covers must be read after the index itself.
    VarHandle.acquireFence();
    return index;
  }

  /**
   * Takes the next chain from the available ring, or returns null when the ring is empty.
   *
   * @throws VirtqueueException when the driver broke the ring or chain rules; the chain is consumed
   *     and the caller should fail it or reset the device
   */
  public DescriptorChain pop() throws VirtqueueException {
    int available = availableIndex();
    if (available == nextAvailable && eventIndex) {
      // Ask for a notification at the next entry, then look again: the driver may have added one
      // after the first read but before it could see avail_event. The full fence keeps the store
      // and the second load in order, as the driver's own barrier does on its side.
      memory.writeU16(usedRing + 4 + (long) USED_ELEMENT_SIZE * size, nextAvailable);
      VarHandle.fullFence();
      available = availableIndex();
    }
    int pending = (available - nextAvailable) & 0xffff;
    if (pending == 0) {
      return null;
    }
    if (pending > size) {
      throw new VirtqueueException(
          String.format(
              "available index %d is %d entries ahead of the device, more than the queue size %d",
              available, pending, size));
    }
    int slot = nextAvailable % size;
    int head = Short.toUnsignedInt(memory.readU16(availableRing + 4 + 2L * slot));
    nextAvailable = (nextAvailable + 1) & 0xffff;
    if (eventIndex) {
      // avail_event: ask for a notification once the driver adds past what was taken.
      memory.writeU16(usedRing + 4 + (long) USED_ELEMENT_SIZE * size, nextAvailable);
    }
    return new DescriptorChain(head, readChain(head));
  }

  /** Puts a chain back to the available ring, so that the next {@link #pop} returns it again. */
  public void undoPop() {
    nextAvailable = (nextAvailable - 1) & 0xffff;
  }

  private List<Descriptor> readChain(int head) throws VirtqueueException {
    if (head >= size) {
      throw new VirtqueueException("chain head " + head + " is outside the queue size " + size);
    }
    List<Descriptor> out = new ArrayList<>();
    long table = descriptorTable;
    int tableSize = size;
    int index = head;
    boolean inIndirect = false;
    boolean seenWritable = false;
    int budget = size;
    while (true) {
      long at = table + (long) DESCRIPTOR_SIZE * index;
      long address = memory.readU64(at);
      int length = memory.readU32(at + 8);
      int flags = Short.toUnsignedInt(memory.readU16(at + 12));
      int next = Short.toUnsignedInt(memory.readU16(at + 14));

      if ((flags & VirtioSpec.VIRTQ_DESC_F_INDIRECT) != 0) {
        if (!indirect || inIndirect) {
          throw new VirtqueueException(
              inIndirect
                  ? "an indirect table points to another indirect table"
                  : "indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC");
        }
        if (length == 0 || length % DESCRIPTOR_SIZE != 0) {
          throw new VirtqueueException(
              "indirect table length "
                  + Integer.toUnsignedString(length)
                  + " is not a positive multiple of 16");
        }
        long entries = Integer.toUnsignedLong(length) / DESCRIPTOR_SIZE;
        if (entries > 32768 || !memory.contains(address, Integer.toUnsignedLong(length))) {
          throw new VirtqueueException(
              String.format(
                  "indirect table at %#x (%d bytes) is outside guest RAM or too long",
                  address, Integer.toUnsignedLong(length)));
        }
        table = address;
        tableSize = (int) entries;
        index = 0;
        inIndirect = true;
        budget = tableSize;
        continue;
      }

      if (!memory.contains(address, Integer.toUnsignedLong(length))) {
        throw new VirtqueueException(
            String.format(
                "descriptor %d: buffer at %#x (%d bytes) is outside guest RAM",
                index, address, Integer.toUnsignedLong(length)));
      }
      if (length < 0) {
        throw new VirtqueueException(
            "descriptor "
                + index
                + ": length "
                + Integer.toUnsignedString(length)
                + " is too large");
      }
      boolean writable = (flags & VirtioSpec.VIRTQ_DESC_F_WRITE) != 0;
      if (!writable && seenWritable) {
        throw new VirtqueueException(
            "descriptor " + index + ": a device-readable buffer follows a device-writable one");
      }
      seenWritable |= writable;
      out.add(new Descriptor(address, length, writable));

      if ((flags & VirtioSpec.VIRTQ_DESC_F_NEXT) == 0) {
        return out;
      }
      if (--budget <= 0) {
        throw new VirtqueueException(
            "chain from head "
                + head
                + " is longer than its table ("
                + tableSize
                + " entries): a loop");
      }
      if (next >= tableSize) {
        throw new VirtqueueException(
            "descriptor "
                + index
                + ": next index "
                + next
                + " is outside the table of "
                + tableSize);
      }
      index = next;
    }
  }

  /**
   * Returns a chain to the driver through the used ring.
   *
   * @param head the chain's head index from {@link DescriptorChain#head()}
   * @param written the number of bytes the device wrote into the chain's buffers
   */
  public void addUsed(int head, int written) {
    int slot = nextUsed % size;
    long element = usedRing + 4 + (long) USED_ELEMENT_SIZE * slot;
    memory.writeU32(element, head);
    memory.writeU32(element + 4, written);
    nextUsed = (nextUsed + 1) & 0xffff;
    // The element must be visible before the index that publishes it.
    VarHandle.releaseFence();
    memory.writeU16(usedRing + 2, nextUsed);
  }

  /**
   * Returns true when the driver wants an interrupt for the chains used since {@code usedBefore},
   * the used index before them ({@link #usedIndex()} at that time).
   */
  public boolean needsInterrupt(int usedBefore) {
    // The used index must be visible before the driver's event index is read.
    VarHandle.fullFence();
    if (!eventIndex) {
      int flags = Short.toUnsignedInt(memory.readU16(availableRing));
      return (flags & VirtioSpec.VIRTQ_AVAIL_F_NO_INTERRUPT) == 0;
    }
    int usedEvent = Short.toUnsignedInt(memory.readU16(availableRing + 4 + 2L * size));
    // virtio 1.2, 2.7.10: notify when used_event lies in [usedBefore, nextUsed).
    return ((nextUsed - usedEvent - 1) & 0xffff) < ((nextUsed - usedBefore) & 0xffff);
  }

  /** Returns the device's next used index. */
  public int usedIndex() {
    return nextUsed;
  }

  /** Returns the guest memory the queue was activated on. */
  public GuestMemory memory() {
    return memory;
  }
}
