package dev.kiln.api;

import dev.kiln.vmm.MicroVm;
import dev.kiln.vmm.VmStartException;
import dev.kiln.vmm.config.LoggerConfig;
import dev.kiln.vmm.config.VmConfig;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * An {@link ApiHost} that records what the controller requests from it and starts no VM.
 *
 * <p>NOTE: {@link #startVm} returns null, because a {@link MicroVm} needs KVM. The controller then
 * runs its post-boot routes without a VM, so unit tests must not reach a route that calls the VM
 * (pause, resume, Ctrl-Alt-Del, drive updates); the integration tests cover those.
 */
final class FakeApiHost implements ApiHost {
  final List<VmConfig> started = new ArrayList<>();
  final List<LoggerConfig> loggers = new ArrayList<>();
  final List<String> metricsPaths = new ArrayList<>();
  int flushes;

  /** When set, the next {@link #startVm} fails with this message. */
  String startFailure;

  /** When set, {@link #configureMetrics} and {@link #flushMetrics} fail with this message. */
  String metricsFailure;

  @Override
  public MicroVm startVm(VmConfig config) throws VmStartException {
    if (startFailure != null) {
      String message = startFailure;
      startFailure = null;
      throw new VmStartException(message);
    }
    started.add(config);
    return null;
  }

  @Override
  public void configureLogger(LoggerConfig logger) {
    loggers.add(logger);
  }

  @Override
  public void configureMetrics(String path) throws IOException {
    if (metricsFailure != null) {
      throw new IOException(metricsFailure);
    }
    metricsPaths.add(path);
  }

  @Override
  public boolean flushMetrics() throws IOException {
    if (metricsFailure != null) {
      throw new IOException(metricsFailure);
    }
    if (metricsPaths.isEmpty()) {
      return false;
    }
    flushes++;
    return true;
  }
}
