package dev.kiln.vmm.memory;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * Guest RAM: a sorted list of non-overlapping regions. Every access is checked against the regions
 * first, so no guest-supplied address can reach host memory outside guest RAM; an access that does
 * not fit inside one region throws {@link GuestMemoryException}. Multi-byte values are
 * little-endian, as on x86.
 */
public final class GuestMemory {
  private final List<GuestRegion> regions;

  /**
   * Creates guest memory over regions that are sorted by address and do not overlap.
   *
   * @throws IllegalArgumentException when they overlap or are out of order
   */
  public GuestMemory(List<GuestRegion> regions) {
    for (int i = 1; i < regions.size(); i++) {
      if (regions.get(i).guestAddress() < regions.get(i - 1).end()) {
        throw new IllegalArgumentException("guest memory regions overlap or are out of order");
      }
    }
    this.regions = List.copyOf(regions);
  }

  /** Returns the regions in address order. */
  public List<GuestRegion> regions() {
    return regions;
  }

  /** Returns the total size of guest RAM in bytes. */
  public long size() {
    return regions.stream().mapToLong(GuestRegion::size).sum();
  }

  /** Returns the first address after the highest region. */
  public long end() {
    return regions.isEmpty() ? 0 : regions.getLast().end();
  }

  /** Returns true when the whole range lies inside one region. */
  public boolean contains(long address, long length) {
    return find(address, length) != null;
  }

  private GuestRegion find(long address, long length) {
    for (GuestRegion region : regions) {
      if (region.contains(address, length)) {
        return region;
      }
    }
    return null;
  }

  /**
   * Returns the host memory behind a guest range, for direct transfers.
   *
   * @throws GuestMemoryException when the range is not inside one region of guest RAM
   */
  public MemorySegment slice(long address, long length) {
    if (length < 0) {
      throw new GuestMemoryException(address, length, "negative length");
    }
    GuestRegion region = find(address, length);
    if (region == null) {
      throw new GuestMemoryException(address, length, "outside guest RAM");
    }
    return region.host().asSlice(address - region.guestAddress(), length);
  }

  /** Copies bytes from the host array into guest memory. */
  public void write(long address, byte[] data) {
    write(address, data, 0, data.length);
  }

  /** Copies {@code length} bytes of {@code data} from {@code offset} into guest memory. */
  public void write(long address, byte[] data, int offset, int length) {
    MemorySegment.copy(data, offset, slice(address, length), JAVA_BYTE, 0, length);
  }

  /** Copies bytes out of guest memory. */
  public byte[] read(long address, int length) {
    return slice(address, length).toArray(JAVA_BYTE);
  }

  /** Fills a guest range with zeros. */
  public void zero(long address, long length) {
    slice(address, length).fill((byte) 0);
  }

  public byte readU8(long address) {
    return slice(address, 1).get(JAVA_BYTE, 0);
  }

  public void writeU8(long address, int value) {
    slice(address, 1).set(JAVA_BYTE, 0, (byte) value);
  }

  public short readU16(long address) {
    return slice(address, 2).get(JAVA_SHORT_UNALIGNED, 0);
  }

  public void writeU16(long address, int value) {
    slice(address, 2).set(JAVA_SHORT_UNALIGNED, 0, (short) value);
  }

  public int readU32(long address) {
    return slice(address, 4).get(JAVA_INT_UNALIGNED, 0);
  }

  public void writeU32(long address, int value) {
    slice(address, 4).set(JAVA_INT_UNALIGNED, 0, value);
  }

  public long readU64(long address) {
    return slice(address, 8).get(JAVA_LONG_UNALIGNED, 0);
  }

  public void writeU64(long address, long value) {
    slice(address, 8).set(JAVA_LONG_UNALIGNED, 0, value);
  }
}
