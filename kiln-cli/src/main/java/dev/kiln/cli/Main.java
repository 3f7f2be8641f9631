package dev.kiln.cli;

import dev.kiln.cli.logging.LogFiles;
import dev.kiln.cli.logging.LogSetup;
import dev.kiln.sys.Terminal;
import dev.kiln.vmm.MicroVm;
import dev.kiln.vmm.VmExit;
import dev.kiln.vmm.VmOptions;
import dev.kiln.vmm.VmStartException;
import dev.kiln.vmm.config.ConfigException;
import dev.kiln.vmm.config.LoggerConfig;
import dev.kiln.vmm.config.SerialConfig;
import dev.kiln.vmm.config.VmConfig;
import dev.kiln.vmm.config.VmConfigParser;
import dev.kiln.vmm.devices.legacy.ProcessCpuTime;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Properties;
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

    VmConfig config;
    try {
      config = VmConfigParser.parseFile(command.configFile);
      if (config.logger() != null) {
        LogSetup.Settings merged = merge(cliLogging, config.logger());
        LogSetup.apply(merged);
        logsOnStandardError = merged.logPath() == null && !"off".equalsIgnoreCase(merged.level());
      }
    } catch (ConfigException e) {
      return fail(log, err, e.getMessage(), ExitCodes.BAD_CONFIGURATION);
    } catch (IOException | IllegalArgumentException e) {
      return fail(
          log, err, "cannot set up logging: " + e.getMessage(), ExitCodes.BAD_CONFIGURATION);
    }

    OutputStream serialOut;
    try {
      serialOut = serialOutput(config.serial(), out);
    } catch (IOException e) {
      return fail(
          log, err, "cannot open serial_out_path: " + e.getMessage(), ExitCodes.BAD_CONFIGURATION);
    }
    VmOptions options =
        new VmOptions(
            command.id, command.bootTimer, serialOut, serialInput(), startNanos, startCpuNanos);

    // A stop signal during setup is kept and acted on once the VM exists (or not at all when
    // setup fails), so that it ends Kiln with status 0 and a log line like one while running.
    AtomicReference<String> earlyStop = new AtomicReference<>();
    AtomicReference<MicroVm> running = new AtomicReference<>();
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
            }
          });
    }
    MicroVm vm;
    try {
      vm = MicroVm.create(config, options);
    } catch (VmStartException e) {
      // Firecracker ends with its bad-configuration status whenever a VM from --config-file
      // cannot be built: a missing kernel as much as an invalid field.
      return fail(log, err, e.getMessage(), ExitCodes.BAD_CONFIGURATION);
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
    vm.close();
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
    if (!command.noApi) {
      return "the API server is not available yet; run kiln --no-api --config-file FILE";
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

  private static LogSetup.Settings merge(LogSetup.Settings cli, LoggerConfig file) {
    return new LogSetup.Settings(
        cli.instanceId(),
        file.logPath() != null ? file.logPath() : cli.logPath(),
        file.level() != null ? file.level() : cli.level(),
        file.showLevel() != null ? file.showLevel() : cli.showLevel(),
        file.showLogOrigin() != null ? file.showLogOrigin() : cli.showOrigin(),
        file.module() != null ? file.module() : cli.module());
  }

  private static OutputStream serialOutput(SerialConfig serial, PrintStream out)
      throws IOException {
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

  private static int fail(Logger log, PrintStream err, String message, int status) {
    log.error(message);
    if (!logsOnStandardError) {
      err.println("kiln: error: " + message);
    }
    return status;
  }
}
