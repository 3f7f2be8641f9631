package dev.kiln.cli;

import dev.kiln.api.ApiController;
import dev.kiln.api.http.HttpConnection;
import dev.kiln.api.http.HttpServer;
import dev.kiln.cli.logging.LogSetup;
import dev.kiln.sys.Terminal;
import dev.kiln.vmm.MicroVm;
import dev.kiln.vmm.VmExit;
import dev.kiln.vmm.VmStartException;
import dev.kiln.vmm.config.ConfigException;
import dev.kiln.vmm.config.VmConfig;
import dev.kiln.vmm.config.VmConfigParser;
import dev.kiln.vmm.devices.legacy.ProcessCpuTime;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import sun.misc.Signal;

/** The {@code kiln} program: parses flags and configuration, builds the VM, runs it, exits. */
public final class Main {
  private static final int STDIN_FD = 0;

  /** Signals that stop the VM cleanly, as SIGTERM and SIGINT do in Firecracker; HUP too. */
  private static final String[] STOP_SIGNALS = {"TERM", "INT", "HUP"};

  private static final Pattern ID_PATTERN = Pattern.compile("[A-Za-z0-9-]{1,64}");

  /** The longest request line and headers the API server reads. */
  private static final int API_MAX_HEAD_BYTES = 8192;

  /** How long a client may take to send a request it has started. */
  private static final long API_REQUEST_TIMEOUT_MILLIS = 10_000;

  // Errors go to standard error once: as a log line when logs go there, else as a plain line.
  private static boolean logsOnStandardError = true;

  private Main() {}

  /** Runs Kiln and exits with the status of {@link #run}. */
  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Returns the program version from the build. */
  static String version() {
    Properties properties = new Properties();
    try (InputStream in = Main.class.getResourceAsStream("/kiln-version.properties")) {
      if (in != null) {
        properties.load(in);
      }
    } catch (IOException e) {
      // The version is cosmetic; fall through to "unknown".
    }
    return properties.getProperty("version", "unknown");
  }

  /**
   * Runs Kiln with the given arguments and returns the process exit status.
   *
   * @param out standard output, which also carries the guest's serial console by default
   * @param err standard error, for usage errors
   */
  static int run(String[] args, PrintStream out, PrintStream err) {
    long startNanos = System.nanoTime();
    long startCpuNanos = ProcessCpuTime.nanos();

    KilnCommand command = new KilnCommand();
    CommandLine parser = new CommandLine(command);
    try {
      parser.parseArgs(args);
    } catch (CommandLine.ParameterException e) {
      err.println("kiln: " + e.getMessage());
      err.println("Run kiln --help for the list of flags.");
      return ExitCodes.ARG_PARSING;
    }
    if (command.help) {
      parser.usage(out);
      return ExitCodes.OK;
    }
    if (command.version) {
      out.println("Kiln v" + version());
      return ExitCodes.OK;
    }
    String usageError = checkFlags(command);
    if (usageError != null) {
      err.println("kiln: " + usageError);
      return ExitCodes.ARG_PARSING;
    }

    LogSetup.Settings cliLogging =
        new LogSetup.Settings(
            command.id,
            command.logPath,
            command.level,
            command.showLevel,
            command.showLogOrigin,
            command.module);
    try {
      LogSetup.apply(cliLogging);
    } catch (IOException | IllegalArgumentException e) {
      err.println("kiln: cannot set up logging: " + e.getMessage());
      return ExitCodes.ARG_PARSING;
    }
    logsOnStandardError = onStandardError(cliLogging);
    Logger log = LoggerFactory.getLogger(Main.class);
    log.info("Running Kiln v{}", version());

    // A stop signal that comes before the VM runs is kept and acted on once it does (or ends the
    // wait for InstanceStart), so it ends Kiln with status 0 and a log line like one while running.
    AtomicReference<String> earlyStop = new AtomicReference<>();
    AtomicReference<MicroVm> running = new AtomicReference<>();
    CompletableFuture<MicroVm> started = new CompletableFuture<>();
    for (String name : STOP_SIGNALS) {
      Signal.handle(
          new Signal(name),
          signal -> {
            MicroVm current = running.get();
            if (current != null) {
              current.requestExit(
                  new VmExit(VmExit.Reason.SIGNAL, "received SIG" + signal.getName()));
            } else {
              earlyStop.compareAndSet(null, signal.getName());
              started.complete(null);
            }
          });
    }

    VmHost host = new VmHost(cliLogging, command, startNanos, startCpuNanos, started);
    if (command.metricsPath != null) {
      try {
        host.configureMetrics(command.metricsPath);
      } catch (IOException e) {
        return fail(
            log,
            err,
            "cannot open --metrics-path " + command.metricsPath + ": " + e.getMessage(),
            ExitCodes.ARG_PARSING);
      }
    }
    HttpServer server = null;
    ApiController api = null;
    if (!command.noApi) {
      long mmdsLimit =
          command.mmdsSizeLimit != null ? command.mmdsSizeLimit : command.httpApiMaxPayloadSize;
      api = new ApiController(command.id, version(), host, mmdsLimit);
      host.attachApiMetrics(api::requestMetrics);
      if (command.metadata != null) {
        try {
          api.loadMetadata(Files.readString(command.metadata), command.metadata.toString());
        } catch (IOException | ConfigException e) {
          String reason =
              e instanceof java.nio.file.NoSuchFileException
                  ? command.metadata + " does not exist; check the path"
                  : e.getMessage();
          return fail(log, err, "cannot load --metadata: " + reason, ExitCodes.ARG_PARSING);
        }
      }
      try {
        server =
            HttpServer.start(
                command.apiSocket,
                api,
                new HttpConnection.Limits(
                    API_MAX_HEAD_BYTES, command.httpApiMaxPayloadSize, API_REQUEST_TIMEOUT_MILLIS));
      } catch (IOException e) {
        return fail(log, err, e.getMessage(), ExitCodes.GENERIC_ERROR);
      }
      log.info("API server listening on {}", command.apiSocket);
    }
    try {
      return runUntilExit(command, log, err, host, api, earlyStop, running, started);
    } finally {
      if (server != null) {
        server.close();
      }
      host.close();
    }
  }

  /**
   * Starts the VM from the config file or waits for InstanceStart, runs it and returns the status.
   */
  private static int runUntilExit(
      KilnCommand command,
      Logger log,
      PrintStream err,
      VmHost host,
      ApiController api,
      AtomicReference<String> earlyStop,
      AtomicReference<MicroVm> running,
      CompletableFuture<MicroVm> started) {
    MicroVm vm;
    if (command.configFile != null) {
      VmConfig config;
      try {
        String json = VmConfigParser.readFile(command.configFile);
        config = VmConfigParser.parse(json, command.configFile.toString());
        if (config.logger() != null) {
          host.configureLogger(config.logger());
          logsOnStandardError = host.logsOnStandardError();
        }
        if (config.metrics() != null && config.metrics().metricsPath() != null) {
          host.configureMetrics(config.metrics().metricsPath());
        }
        if (api != null) {
          api.loadConfigFile(json);
        }
      } catch (ConfigException e) {
        return fail(log, err, e.getMessage(), ExitCodes.BAD_CONFIGURATION);
      } catch (IOException | IllegalArgumentException e) {
        return fail(
            log,
            err,
            "cannot open the config file's logger.log_path or metrics.metrics_path: "
                + e.getMessage()
                + "; give a writable file or a named pipe with a reader",
            ExitCodes.BAD_CONFIGURATION);
      }
      try {
        vm = host.startVm(config);
      } catch (VmStartException e) {
        // Firecracker ends with its bad-configuration status whenever a VM from --config-file
        // cannot be built: a missing kernel as much as an invalid field.
        return fail(log, err, e.getMessage(), ExitCodes.BAD_CONFIGURATION);
      }
      if (api != null) {
        api.started(vm);
      }
    } else {
      try {
        vm = started.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return ExitCodes.OK;
      } catch (ExecutionException e) {
        return fail(
            log, err, "waiting for InstanceStart failed: " + e.getCause(), ExitCodes.GENERIC_ERROR);
      }
      if (vm == null) {
        log.info("Stopped before the VM started: received SIG{}", earlyStop.get());
        return ExitCodes.OK;
      }
    }
    running.set(vm);
    if (earlyStop.get() != null) {
      vm.requestExit(new VmExit(VmExit.Reason.SIGNAL, "received SIG" + earlyStop.get()));
    }
    // Like Firecracker, give the guest every key typed on a terminal, Ctrl-C included; SIGTERM
    // still stops Kiln, and the terminal's settings come back at exit.
    Terminal terminal = Terminal.makeRaw(STDIN_FD);
    if (terminal != null) {
      Runtime.getRuntime().addShutdownHook(new Thread(terminal::restore));
    }
    host.startPeriodicMetrics(vm);
    VmExit exit;
    try {
      exit = vm.run();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      exit = new VmExit(VmExit.Reason.SIGNAL, "interrupted");
    } finally {
      if (terminal != null) {
        terminal.restore();
      }
    }
    host.flushMetricsQuietly();
    vm.close();
    logsOnStandardError = host.logsOnStandardError() && logsOnStandardError;
    if (exit.exitStatus() == ExitCodes.OK) {
      log.info("VM {} stopped: {}", command.id, exit.detail());
    } else {
      fail(log, err, "VM " + command.id + " stopped: " + exit.detail(), exit.exitStatus());
    }
    return exit.exitStatus();
  }

  private static String checkFlags(KilnCommand command) {
    if (!ID_PATTERN.matcher(command.id).matches()) {
      return "--id \"" + command.id + "\" is invalid; use 1 to 64 letters, digits and hyphens";
    }
    if (command.noApi && command.configFile == null) {
      return "--no-api needs --config-file: without the API the VM must come from a file";
    }
    if (command.httpApiMaxPayloadSize < 1) {
      return "--http-api-max-payload-size "
          + command.httpApiMaxPayloadSize
          + " is too small; give a positive number of bytes";
    }
    if (command.httpApiMaxPayloadSize > HttpConnection.Limits.MAX_PAYLOAD_BYTES) {
      return "--http-api-max-payload-size "
          + command.httpApiMaxPayloadSize
          + " is too large; give at most "
          + HttpConnection.Limits.MAX_PAYLOAD_BYTES
          + " bytes";
    }
    if (command.mmdsSizeLimit != null && command.mmdsSizeLimit < 1) {
      return "--mmds-size-limit "
          + command.mmdsSizeLimit
          + " is too small; give a positive number of bytes";
    }
    return null;
  }

  // True when an error log line surely reaches standard error: no log file, no "Off" level and
  // no module filter that could drop it.
  private static boolean onStandardError(LogSetup.Settings settings) {
    return settings.logPath() == null
        && !"off".equalsIgnoreCase(settings.level())
        && (settings.module() == null || settings.module().isEmpty());
  }

  private static int fail(Logger log, PrintStream err, String message, int status) {
    log.error(message);
    if (!logsOnStandardError) {
      err.println("kiln: error: " + message);
    }
    return status;
  }
}
