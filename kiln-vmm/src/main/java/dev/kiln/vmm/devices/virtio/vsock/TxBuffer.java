package dev.kiln.vmm.devices.virtio.vsock;

import dev.kiln.sys.SyscallException;
import dev.kiln.sys.UnixSocket;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A connection's bytes from the guest that the host socket has not taken yet: a ring in native
 * memory, allocated on first use. The guest may have at most the credit the device advertised in
 * flight, so the ring's capacity is that credit and a push beyond it is the guest's error.
 */
final class TxBuffer implements AutoCloseable {
  private final int capacity;
  private Arena arena;
  private MemorySegment ring;
  private long start;
  private int size;

  TxBuffer(int capacity) {
    this.capacity = capacity;
  }

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  /** Returns the bytes that still fit. */
  int free() {
    return capacity - size;
  }

  /**
   * Appends all of {@code source}.
   *
   * @throws IllegalStateException when it does not fit; callers check {@link #free} first
   */
  void push(MemorySegment source) {
    long count = source.byteSize();
    if (count > free()) {
      throw new IllegalStateException(count + " bytes do not fit in the " + free() + " free");
    }
    if (ring == null) {
      arena = Arena.ofShared();
      ring = arena.allocate(capacity);
    }
    long end = (start + size) % capacity;
    long first = Math.min(count, capacity - end);
    MemorySegment.copy(source, 0, ring, end, first);
    MemorySegment.copy(source, first, ring, 0, count - first);
    size += (int) count;
  }

  /**
   * Sends buffered bytes to {@code fd} until it is full or the buffer is empty; returns how many
   * were sent.
   *
   * @throws SyscallException when the send fails, such as {@code EPIPE} after the peer closed
   */
  long flushTo(int fd) throws SyscallException {
    long total = 0;
    while (size > 0) {
      long contiguous = Math.min(size, capacity - start);
      long sent = UnixSocket.send(fd, ring.asSlice(start, contiguous), contiguous);
      if (sent <= 0) {
        break;
      }
      start = (start + sent) % capacity;
      size -= (int) sent;
      total += sent;
    }
    if (size == 0) {
      start = 0;
    }
    return total;
  }

  @Override
  public void close() {
    if (arena != null) {
      arena.close();
      arena = null;
      ring = null;
    }
    size = 0;
  }
}
