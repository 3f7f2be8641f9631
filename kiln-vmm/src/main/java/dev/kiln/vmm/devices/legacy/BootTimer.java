package dev.kiln.vmm.devices.legacy;

import dev.kiln.vmm.devices.BusDevice;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Firecracker's boot-timer device: when the guest writes the value 123 to the first byte of its
 * MMIO page, Kiln logs the wall-clock and CPU time since the process started. Guest init scripts
 * use it to measure boot time.
 */
public final class BootTimer implements BusDevice {
  private static final Logger LOG = LoggerFactory.getLogger(BootTimer.class);

  /** The value a guest writes to mark the end of its boot. */
  public static final int MAGIC_VALUE_BOOT_COMPLETE = 123;

  private final long startNanos;
  private final long startCpuNanos;
  private volatile boolean fired;

  /**
   * @param startNanos the process start in {@link System#nanoTime()} units
   * @param startCpuNanos the process CPU time at start, in nanoseconds
   */
  public BootTimer(long startNanos, long startCpuNanos) {
    this.startNanos = startNanos;
    this.startCpuNanos = startCpuNanos;
  }

  /** Returns true once the guest has written the boot-complete value. */
  public boolean fired() {
    return fired;
  }

  @Override
  public long read(long offset, int size) {
    return 0;
  }

  @Override
  public void write(long offset, int size, long value) {
    if (offset == 0 && size == 1 && (value & 0xff) == MAGIC_VALUE_BOOT_COMPLETE) {
      if (fired) {
        return; // the boot time is logged once
      }
      fired = true;
      long wallMicros = (System.nanoTime() - startNanos) / 1000;
      long cpuMicros = (ProcessCpuTime.nanos() - startCpuNanos) / 1000;
      LOG.info(
          "Guest-boot-time = {} us {} ms, {} CPU us {} CPU ms",
          wallMicros,
          wallMicros / 1000,
          cpuMicros,
          cpuMicros / 1000);
    }
  }
}
