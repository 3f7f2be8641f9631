package dev.kiln.vmm.devices.legacy;

import java.time.Duration;

/** Reads the CPU time this process has used. */
public final class ProcessCpuTime {
  private ProcessCpuTime() {}

  /** Returns the process's CPU time in nanoseconds, or 0 when the system cannot report it. */
  public static long nanos() {
    return ProcessHandle.current().info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
  }
}
