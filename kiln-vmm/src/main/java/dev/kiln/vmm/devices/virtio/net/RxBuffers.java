package dev.kiln.vmm.devices.virtio.net;

import dev.kiln.vmm.devices.virtio.Descriptor;
import dev.kiln.vmm.devices.virtio.DescriptorChain;
import dev.kiln.vmm.devices.virtio.Virtqueue;
import dev.kiln.vmm.devices.virtio.VirtqueueException;
import dev.kiln.vmm.memory.GuestMemory;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * The receive chains the device has taken from the receive queue and not yet used, in order. A
 * frame goes into the first chain, or with mergeable receive buffers into as many chains from the
 * first as it needs (virtio 1.2, 5.1.6.3.2), each returned through the used ring with the bytes
 * written into it and the count in the header's {@code num_buffers}.
 *
 * <p>Chains the driver got wrong, a device-readable buffer or less room than {@code minimumChain},
 * are returned at once with 0 bytes written and counted; the next chain is tried. Not thread-safe:
 * the device calls it with its lock held.
 */
final class RxBuffers {
  /** A usable receive chain: its head and writable buffers, and their total length. */
  record Chain(int head, DescriptorChain chain, long capacity) {}

  /** What {@link #deliver} did with a frame. */
  enum Outcome {
    /** The frame is in guest memory and the chains are in the used ring. */
    DELIVERED,
    /** The held chains cannot take the frame yet; more must come from the driver. */
    WAIT,
    /** The frame can never fit: it was dropped and the chains were kept for the next one. */
    DROPPED
  }

  private final ArrayDeque<Chain> chains = new ArrayDeque<>();
  private long capacity;
  private long rejected;

  /** Returns the number of chains held. */
  int size() {
    return chains.size();
  }

  /** Returns the total room in the chains held. */
  long capacity() {
    return capacity;
  }

  /**
   * Returns and clears the number of chains returned unused since the last call, for {@code
   * rx_fails}.
   */
  long takeRejected() {
    long count = rejected;
    rejected = 0;
    return count;
  }

  /** Forgets the chains held, as a device reset does; they belong to the old queue. */
  void clear() {
    chains.clear();
    capacity = 0;
  }

  /**
   * Takes chains from the queue until the held room reaches {@code needed} bytes or the available
   * ring is empty.
   *
   * @param minimumChain the smallest usable chain ({@link VirtioNetSpec#minimumRxChain})
   * @throws VirtqueueException when the driver broke the ring rules
   */
  void fill(Virtqueue queue, long needed, int minimumChain) throws VirtqueueException {
    while (capacity < needed) {
      DescriptorChain chain = queue.pop();
      if (chain == null) {
        return;
      }
      long room = 0;
      boolean writableOnly = true;
      for (Descriptor d : chain.descriptors()) {
        writableOnly &= d.writable();
        room += Integer.toUnsignedLong(d.length());
      }
      if (!writableOnly || room < minimumChain) {
        queue.addUsed(chain.head(), 0);
        rejected++;
        continue;
      }
      chains.addLast(new Chain(chain.head(), chain, room));
      capacity += room;
    }
  }

  /**
   * Puts a frame into the held chains, taking more from the queue as needed.
   *
   * @param frame the frame, its 12-byte header first; {@code num_buffers} in it is overwritten
   * @param length the frame's length, at least the header's
   * @param mergeable whether {@code VIRTIO_NET_F_MRG_RXBUF} was negotiated
   * @param minimumChain the smallest usable chain
   * @throws VirtqueueException when the driver broke the ring rules
   */
  Outcome deliver(
      Virtqueue queue,
      GuestMemory memory,
      MemorySegment frame,
      int length,
      boolean mergeable,
      int minimumChain)
      throws VirtqueueException {
    if (!mergeable) {
      fill(queue, 1, minimumChain);
      if (chains.isEmpty()) {
        return Outcome.WAIT;
      }
      if (chains.peekFirst().capacity() < length) {
        return Outcome.DROPPED;
      }
      VirtioNetHeader.setNumBuffers(frame, 1);
      Chain chain = take();
      queue.addUsed(chain.head(), scatter(memory, chain, frame, 0, length));
      return Outcome.DELIVERED;
    }
    fill(queue, length, minimumChain);
    if (capacity < length) {
      // Every ring entry is held and still the frame does not fit: the driver can never give more.
      return chains.size() >= queue.size() ? Outcome.DROPPED : Outcome.WAIT;
    }
    int count = 0;
    long room = 0;
    for (Iterator<Chain> it = chains.iterator(); room < length; count++) {
      room += it.next().capacity();
    }
    VirtioNetHeader.setNumBuffers(frame, count);
    int offset = 0;
    for (int i = 0; i < count; i++) {
      Chain chain = take();
      int written = scatter(memory, chain, frame, offset, length - offset);
      queue.addUsed(chain.head(), written);
      offset += written;
    }
    return Outcome.DELIVERED;
  }

  private Chain take() {
    Chain chain = chains.removeFirst();
    capacity -= chain.capacity();
    return chain;
  }

  /**
   * Copies up to {@code length} bytes of {@code frame} from {@code offset} into the chain's buffers
   * in order; returns the count copied.
   */
  private static int scatter(
      GuestMemory memory, Chain chain, MemorySegment frame, int offset, int length) {
    int copied = 0;
    for (Descriptor d : chain.chain().descriptors()) {
      if (copied == length) {
        break;
      }
      int n = (int) Math.min(Integer.toUnsignedLong(d.length()), length - copied);
      if (n == 0) {
        continue;
      }
      MemorySegment.copy(frame, offset + copied, memory.slice(d.address(), n), 0, n);
      copied += n;
    }
    return copied;
  }
}
