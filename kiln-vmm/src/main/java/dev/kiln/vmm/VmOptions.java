package dev.kiln.vmm;

import java.io.InputStream;
import java.io.OutputStream;

/**
 * Settings of a VM that come from the command line rather than the configuration.
 *
 * @param id the VM id, for logs
 * @param bootTimer whether to attach Firecracker's boot-timer device
 * @param serialOut where the guest's serial output goes
 * @param serialIn host input for the guest's serial port, or null for none
 * @param startNanos the process start in {@link System#nanoTime()} units
 * @param startCpuNanos the process CPU time at start, in nanoseconds
 */
public record VmOptions(
    String id,
    boolean bootTimer,
    OutputStream serialOut,
    InputStream serialIn,
    long startNanos,
    long startCpuNanos) {}
