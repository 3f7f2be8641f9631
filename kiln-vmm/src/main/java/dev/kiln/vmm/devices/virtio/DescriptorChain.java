package dev.kiln.vmm.devices.virtio;

import java.util.List;

/**
 * A request taken from a virtqueue: its head index, for returning it through the used ring, and its
 * buffers in order. Every buffer has been checked against guest RAM.
 *
 * @param head the index of the first descriptor, which identifies the chain in the used ring
 * @param descriptors the buffers, device-readable ones first as the spec requires
 */
public record DescriptorChain(int head, List<Descriptor> descriptors) {
  /** Returns the total length of the device-writable buffers. */
  public long writableLength() {
    return descriptors.stream().filter(Descriptor::writable).mapToLong(Descriptor::length).sum();
  }

  /** Returns the total length of the device-readable buffers. */
  public long readableLength() {
    return descriptors.stream().filter(d -> !d.writable()).mapToLong(Descriptor::length).sum();
  }
}
