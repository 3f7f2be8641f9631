package dev.kiln.cli;

import dev.kiln.api.ApiHost;
import dev.kiln.cli.logging.LogFiles;
import dev.kiln.cli.logging.LogSetup;
import dev.kiln.vmm.MicroVm;
import dev.kiln.vmm.VmOptions;
import dev.kiln.vmm.VmStartException;
import dev.kiln.vmm.config.LoggerConfig;
import dev.kiln.vmm.config.SerialConfig;
import dev.kiln.vmm.config.VmConfig;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the API and the config file need from the process: building the VM with the console and
 * timing options of this run, applying logger sections, and writing metrics.
 */
final class VmHost implements ApiHost, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(VmHost.class);

  /** Firecracker writes metrics every 60 seconds. */
  static final long METRICS_PERIOD_SECONDS = 60;

  private final LogSetup.Settings cliLogging;
  private final KilnCommand command;
  private final long startNanos;
  private final long startCpuNanos;
  private final CompletableFuture<MicroVm> started;
  private final MetricsWriter metrics = new MetricsWriter();
  private ScheduledExecutorService metricsTimer;
  private volatile boolean logsOnStandardError = true;

  VmHost(
      LogSetup.Settings cliLogging,
      KilnCommand command,
      long startNanos,
      long startCpuNanos,
      CompletableFuture<MicroVm> started) {
    this.cliLogging = cliLogging;
    this.command = command;
    this.startNanos = startNanos;
    this.startCpuNanos = startCpuNanos;
    this.started = started;
  }

  /** True when error log lines reach standard error with the current logger settings. */
  boolean logsOnStandardError() {
    return logsOnStandardError;
  }

  @Override
  public synchronized MicroVm startVm(VmConfig config) throws VmStartException {
    OutputStream serialOut;
    try {
      serialOut = serialOutput(config.serial());
    } catch (IOException e) {
      throw new VmStartException("cannot open serial_out_path: " + e.getMessage(), e);
    }
    VmOptions options =
        new VmOptions(
            command.id, command.bootTimer, serialOut, serialInput(), startNanos, startCpuNanos);
    MicroVm vm = MicroVm.create(config, options);
    metrics.attach(vm);
    started.complete(vm);
    return vm;
  }

  @Override
  public void configureLogger(LoggerConfig file) throws IOException {
    LogSetup.Settings merged =
        new LogSetup.Settings(
            cliLogging.instanceId(),
            file.logPath() != null ? file.logPath() : cliLogging.logPath(),
            file.level() != null ? file.level() : cliLogging.level(),
            file.showLevel() != null ? file.showLevel() : cliLogging.showLevel(),
            file.showLogOrigin() != null ? file.showLogOrigin() : cliLogging.showOrigin(),
            file.module() != null ? file.module() : cliLogging.module());
    LogSetup.apply(merged);
    logsOnStandardError = merged.logPath() == null && !"off".equalsIgnoreCase(merged.level());
  }

  @Override
  public void configureMetrics(String path) throws IOException {
    metrics.open(path);
  }

  @Override
  public boolean flushMetrics() throws IOException {
    return metrics.flush();
  }

  /** Makes the API's request counters part of the metrics. */
  void attachApiMetrics(Supplier<Map<String, Map<String, Long>>> counters) {
    metrics.attachApi(counters);
  }

  /** Writes metrics every {@link #METRICS_PERIOD_SECONDS} while the VM runs. */
  synchronized void startPeriodicMetrics(MicroVm vm) {
    metrics.attach(vm);
    if (metricsTimer != null) {
      return;
    }
    metricsTimer =
        Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().daemon().name("kiln-metrics").unstarted(r));
    metricsTimer.scheduleAtFixedRate(
        this::flushMetricsQuietly,
        METRICS_PERIOD_SECONDS,
        METRICS_PERIOD_SECONDS,
        TimeUnit.SECONDS);
  }

  /** Writes metrics once, logging a failure instead of throwing. */
  void flushMetricsQuietly() {
    try {
      metrics.flush();
    } catch (IOException | RuntimeException e) {
      LOG.warn("Writing metrics failed: {}", e.getMessage());
    }
  }

  @Override
  public synchronized void close() {
    if (metricsTimer != null) {
      metricsTimer.shutdownNow();
    }
    metrics.close();
  }

  private OutputStream serialOutput(SerialConfig serial) throws IOException {
    if (serial != null && serial.serialOutPath() != null) {
      return LogFiles.openForAppend(serial.serialOutPath());
    }
    return new FileOutputStream(FileDescriptor.out);
  }

  /**
   * Returns standard input for the guest's serial port, or null when there is none. When Kiln
   * starts with standard input closed, the JVM's first opened file takes descriptor 0; its bytes
   * must not reach the guest.
   */
  private static InputStream serialInput() {
    try {
      Path target = Path.of("/proc/self/fd/0").toRealPath();
      if (target.startsWith(Path.of(System.getProperty("java.home")).toRealPath())) {
        return null;
      }
    } catch (IOException | RuntimeException e) {
      // No /proc or a descriptor that does not resolve: use it as it is.
    }
    return new FileInputStream(FileDescriptor.in);
  }
}
