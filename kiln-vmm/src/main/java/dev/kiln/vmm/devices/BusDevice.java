package dev.kiln.vmm.devices;

/**
 * A device on the port-I/O or MMIO bus. A vCPU thread calls it for each guest access that lands in
 * the device's range, so implementations must be thread-safe and must not block on host I/O.
 */
public interface BusDevice {
  /**
   * Returns the value of a guest read.
   *
   * @param offset the offset from the start of the device's range
   * @param size the access size in bytes: 1, 2, 4 or 8
   * @return the value; bits beyond {@code size} bytes are ignored
   */
  long read(long offset, int size);

  /**
   * Handles a guest write.
   *
   * @param offset the offset from the start of the device's range
   * @param size the access size in bytes: 1, 2, 4 or 8
   * @param value the written value in its low {@code size} bytes
   */
  void write(long offset, int size, long value);
}
