package dev.kiln.cli.it;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/** Runs host commands (ip, mkfifo) that the integration tests use to set up and clean up. */
final class HostCommands {
  private static final long TIMEOUT_SECONDS = 30;

  private HostCommands() {}

  /** Runs {@code command} and fails the test, with its output, when it fails or times out. */
  static void run(String... command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS) || process.exitValue() != 0) {
      fail("%s failed: %s", String.join(" ", command), output);
    }
  }

  /** Runs a clean-up command and ignores its result, so the test's own outcome is reported. */
  static void runQuietly(String... command) {
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      process.getInputStream().readAllBytes();
      process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (IOException e) {
      // Clean-up only.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
