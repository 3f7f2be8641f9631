package dev.kiln.vmm.devices.virtio.vsock;

import dev.kiln.vmm.devices.virtio.Descriptor;
import dev.kiln.vmm.devices.virtio.DescriptorChain;
import dev.kiln.vmm.memory.GuestMemory;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The device-readable or the device-writable buffers of one chain, seen as one byte range. A
 * packet's header and payload may each be split over several descriptors, so reads, writes and
 * socket transfers go through here. Every access is a bounds-checked slice of guest memory.
 */
final class ChainBuffers {
  private final GuestMemory memory;
  private final List<Descriptor> parts;
  private final long length;

  private ChainBuffers(GuestMemory memory, List<Descriptor> parts) {
    this.memory = memory;
    this.parts = parts;
    this.length = parts.stream().mapToLong(d -> Integer.toUnsignedLong(d.length())).sum();
  }

  /** Returns the chain's device-readable buffers, the packet a driver sends. */
  static ChainBuffers readable(GuestMemory memory, DescriptorChain chain) {
    return new ChainBuffers(
        memory, chain.descriptors().stream().filter(d -> !d.writable()).toList());
  }

  /** Returns the chain's device-writable buffers, room for a packet to the driver. */
  static ChainBuffers writable(GuestMemory memory, DescriptorChain chain) {
    return new ChainBuffers(
        memory, chain.descriptors().stream().filter(Descriptor::writable).toList());
  }

  /** Returns the total length in bytes. */
  long length() {
    return length;
  }

  /**
   * Returns the guest memory covering {@code count} bytes from {@code offset}, one slice per
   * descriptor touched.
   *
   * @throws IllegalArgumentException when the range is not inside the buffers
   */
  List<MemorySegment> segments(long offset, long count) {
    if (offset < 0 || count < 0 || offset + count > length) {
      throw new IllegalArgumentException(
          "range " + offset + "+" + count + " is outside the chain's " + length + " bytes");
    }
    List<MemorySegment> out = new ArrayList<>();
    long skip = offset;
    long remaining = count;
    for (Descriptor d : parts) {
      if (remaining == 0) {
        break;
      }
      long partLength = Integer.toUnsignedLong(d.length());
      if (skip >= partLength) {
        skip -= partLength;
        continue;
      }
      long take = Math.min(partLength - skip, remaining);
      out.add(memory.slice(d.address() + skip, take));
      remaining -= take;
      skip = 0;
    }
    return out;
  }

  /** Copies {@code count} bytes from {@code offset} out of guest memory. */
  byte[] read(long offset, int count) {
    byte[] out = new byte[count];
    int at = 0;
    for (MemorySegment segment : segments(offset, count)) {
      MemorySegment.copy(segment, 0, MemorySegment.ofArray(out), at, segment.byteSize());
      at += (int) segment.byteSize();
    }
    return out;
  }

  /** Copies {@code bytes} into guest memory from {@code offset}. */
  void write(long offset, byte[] bytes) {
    int at = 0;
    for (MemorySegment segment : segments(offset, bytes.length)) {
      MemorySegment.copy(MemorySegment.ofArray(bytes), at, segment, 0, segment.byteSize());
      at += (int) segment.byteSize();
    }
  }
}
