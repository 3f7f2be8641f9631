package dev.kiln.vmm.devices;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An address space of devices: port I/O or MMIO. Ranges cannot overlap. Guest accesses that no
 * device claims read as all ones and writes to them are dropped, as on a PC's open bus; both are
 * counted, and the first few are logged.
 */
public final class Bus {
  private static final Logger LOG = LoggerFactory.getLogger(Bus.class);
  private static final int LOGGED_UNCLAIMED = 10;

  private record Range(long base, long length, BusDevice device) {}

  private final String name;
  private final TreeMap<Long, Range> ranges = new TreeMap<>();
  private final AtomicLong unclaimedReads = new AtomicLong();
  private final AtomicLong unclaimedWrites = new AtomicLong();

  /** Creates an empty bus; {@code name} ("pio", "mmio") appears in logs and errors. */
  public Bus(String name) {
    this.name = name;
  }

  /**
   * Attaches a device to {@code [base, base + length)}.
   *
   * @throws IllegalArgumentException when the range overlaps a device already attached
   */
  public synchronized void attach(long base, long length, BusDevice device) {
    if (length <= 0) {
      throw new IllegalArgumentException("bus range length must be positive, not " + length);
    }
    Map.Entry<Long, Range> below = ranges.floorEntry(base + length - 1);
    if (below != null && below.getValue().base + below.getValue().length > base) {
      throw new IllegalArgumentException(
          String.format(
              "%s range %#x+%#x overlaps the device at %#x+%#x",
              name, base, length, below.getValue().base, below.getValue().length));
    }
    ranges.put(base, new Range(base, length, device));
  }

  private Range find(long address, int size) {
    Map.Entry<Long, Range> entry = ranges.floorEntry(address);
    if (entry == null) {
      return null;
    }
    Range r = entry.getValue();
    return address - r.base + size <= r.length ? r : null;
  }

  /** Dispatches a guest read; returns all ones for an address no device claims. */
  public long read(long address, int size) {
    Range r = find(address, size);
    if (r == null) {
      long count = unclaimedReads.incrementAndGet();
      if (count <= LOGGED_UNCLAIMED) {
        LOG.debug(
            "{} read of {} bytes at {} hits no device ({} so far)",
            name,
            size,
            hex(address),
            count);
      }
      return -1L;
    }
    return r.device.read(address - r.base, size);
  }

  /** Dispatches a guest write; drops it for an address no device claims. */
  public void write(long address, int size, long value) {
    Range r = find(address, size);
    if (r == null) {
      long count = unclaimedWrites.incrementAndGet();
      if (count <= LOGGED_UNCLAIMED) {
        LOG.debug(
            "{} write of {} bytes at {} hits no device ({} so far)",
            name,
            size,
            hex(address),
            count);
      }
      return;
    }
    r.device.write(address - r.base, size, value);
  }

  /** Returns how many guest reads hit no device. */
  public long unclaimedReads() {
    return unclaimedReads.get();
  }

  /** Returns how many guest writes hit no device. */
  public long unclaimedWrites() {
    return unclaimedWrites.get();
  }

  private static String hex(long value) {
    return "0x" + Long.toHexString(value);
  }
}
