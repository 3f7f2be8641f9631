package dev.kiln.api;

import dev.kiln.vmm.MicroVm;
import dev.kiln.vmm.VmStartException;
import dev.kiln.vmm.config.LoggerConfig;
import dev.kiln.vmm.config.VmConfig;
import java.io.IOException;

/** The services the API needs from the program around it: starting the VM, logging, metrics. */
public interface ApiHost {
  /** Builds the VM from {@code config} and starts it running; returns once its vCPUs run. */
  MicroVm startVm(VmConfig config) throws VmStartException;

  /** Applies a {@code PUT /logger} body to the process's logging. */
  void configureLogger(LoggerConfig logger) throws IOException;

  /** Opens {@code path} for metrics, as {@code PUT /metrics} requests. */
  void configureMetrics(String path) throws IOException;

  /**
   * Writes one metrics object now, for the {@code FlushMetrics} action.
   *
   * @return false when no metrics path is configured
   */
  boolean flushMetrics() throws IOException;
}
