package dev.kiln.cli;

import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The command-line flags, named and meant as Firecracker's are. */
@Command(
    name = "kiln",
    sortOptions = false,
    description = "Runs a microVM on KVM from a Firecracker configuration file.",
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

  @Option(
      names = "--api-sock",
      paramLabel = "PATH",
      description = "Unix socket for the API server (not available yet; use --no-api).")
  Path apiSocket;

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
