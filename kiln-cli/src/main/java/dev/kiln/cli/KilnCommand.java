package dev.kiln.cli;

import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The command-line flags, named and meant as Firecracker's are. */
@Command(
    name = "kiln",
    sortOptions = false,
    description =
        "Runs a microVM on KVM, configured through Firecracker's REST API on a Unix socket"
            + " or from a Firecracker configuration file.",
    mixinStandardHelpOptions = false)
final class KilnCommand {
  /** The id Firecracker uses when none is given. */
  static final String DEFAULT_ID = "anonymous-instance";

  @Option(
      names = "--config-file",
      paramLabel = "FILE",
      description = "Firecracker-format JSON file describing the VM; it starts at once.")
  Path configFile;

  @Option(names = "--no-api", description = "Do not start the API server; needs --config-file.")
  boolean noApi;

  /** Firecracker's default API socket path. */
  static final String DEFAULT_API_SOCKET = "/run/firecracker.socket";

  /** Firecracker's default limit on an API request body, and on the MMDS data store. */
  static final long DEFAULT_PAYLOAD_LIMIT = 51200;

  @Option(
      names = "--api-sock",
      paramLabel = "PATH",
      description = "Unix socket the API server listens on. Default: ${DEFAULT-VALUE}.",
      defaultValue = DEFAULT_API_SOCKET)
  Path apiSocket;

  @Option(
      names = "--http-api-max-payload-size",
      paramLabel = "BYTES",
      description = "Largest API request body accepted. Default: ${DEFAULT-VALUE}.",
      defaultValue = "51200")
  long httpApiMaxPayloadSize;

  @Option(
      names = "--mmds-size-limit",
      paramLabel = "BYTES",
      description = "Largest MMDS data store. Default: the API payload limit.")
  Long mmdsSizeLimit;

  @Option(
      names = "--metadata",
      paramLabel = "FILE",
      description = "JSON file whose object becomes the MMDS data store at start.")
  Path metadata;

  @Option(
      names = "--metrics-path",
      paramLabel = "PATH",
      description = "File or named pipe that receives a JSON metrics object every 60 s.")
  String metricsPath;

  @Option(
      names = "--id",
      paramLabel = "ID",
      description =
          "VM id shown in log lines: 1 to 64 letters, digits and hyphens."
              + " Default: ${DEFAULT-VALUE}.",
      defaultValue = DEFAULT_ID)
  String id;

  @Option(
      names = "--log-path",
      paramLabel = "PATH",
      description = "File or named pipe for log lines. Default: standard error.")
  String logPath;

  @Option(
      names = "--level",
      paramLabel = "LEVEL",
      description = "Log level: Error, Warning, Info, Debug, Trace or Off. Default: Info.")
  String level;

  @Option(
      names = "--module",
      paramLabel = "PREFIX",
      description = "Only log lines from loggers whose name starts with PREFIX.")
  String module;

  @Option(names = "--show-level", description = "Show the level in each log line.")
  boolean showLevel;

  @Option(
      names = "--show-log-origin",
      description = "Show the source file and line of each log line.")
  boolean showLogOrigin;

  @Option(
      names = "--boot-timer",
      description =
          "Log the time from start until the guest writes 123 to the boot-timer device"
              + " at the first MMIO slot (0xd0000000).")
  boolean bootTimer;

  @Option(names = "--version", description = "Print the version and exit.")
  boolean version;

  @Option(
      names = {"-h", "--help"},
      usageHelp = true,
      description = "Print this help and exit.")
  boolean help;
}
