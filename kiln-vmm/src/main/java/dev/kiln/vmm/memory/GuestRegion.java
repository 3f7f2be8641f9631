package dev.kiln.vmm.memory;

import java.lang.foreign.MemorySegment;

/**
 * One contiguous range of guest RAM and the host mapping behind it.
 *
 * @param guestAddress the guest-physical start address
 * @param host the host mapping; its size is the region's size
 */
public record GuestRegion(long guestAddress, MemorySegment host) {
  /** Returns the size in bytes. */
  public long size() {
    return host.byteSize();
  }

  /** Returns the first guest-physical address after the region. */
  public long end() {
    return guestAddress + host.byteSize();
  }

  /** Returns true when {@code [address, address + length)} lies inside the region. */
  public boolean contains(long address, long length) {
    return address >= guestAddress
        && length >= 0
        && address - guestAddress <= host.byteSize() - length;
  }
}
