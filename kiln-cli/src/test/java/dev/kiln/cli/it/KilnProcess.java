package dev.kiln.cli.it;

import static org.assertj.core.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Kiln running as a child process with {@code --no-api --config-file}: collects its stdout (where
 * the guest's serial output goes) and stderr, and feeds its stdin.
 */
final class KilnProcess implements AutoCloseable {
  /**
   * Maximum time for one boot, from starting Kiln to its exit. The guests finish within seconds.
   * The margin covers a loaded machine and hosts such as PVM that emulate guest kernel code.
   */
  static final Duration BOOT_TIMEOUT = Duration.ofSeconds(180);

  /** Kernel command line given to every guest. */
  static final String BOOT_ARGS = "console=ttyS0 kiln.test=1";

  /** Memory of every guest in MiB. */
  static final int MEMORY_MIB = 128;

  private static final Duration READER_JOIN_TIMEOUT = Duration.ofSeconds(10);

  private final Process process;
  private final List<String> stdoutLines = new ArrayList<>();
  private final StringBuilder stderr = new StringBuilder();
  private final Thread stdoutReader;
  private final Thread stderrReader;

  private KilnProcess(Process process) {
    this.process = process;
    stdoutReader =
        Thread.ofPlatform()
            .daemon()
            .name("kiln-stdout")
            .start(() -> readLines(process.getInputStream(), this::addStdoutLine));
    stderrReader =
        Thread.ofPlatform()
            .daemon()
            .name("kiln-stderr")
            .start(() -> readLines(process.getErrorStream(), this::addStderrLine));
  }

  /**
   * Writes a Firecracker-format configuration for {@code kernel} to {@code directory} and starts
   * Kiln with it.
   *
   * @param initrd the initrd file, or null for none
   */
  static KilnProcess boot(Path directory, Path kernel, int vcpuCount, Path initrd)
      throws IOException {
    Path config = directory.resolve("vm-config.json");
    Files.writeString(config, configJson(kernel, vcpuCount, initrd), StandardCharsets.UTF_8);

    return start(directory, "--no-api", "--config-file", config.toString());
  }

  /** Starts Kiln with the given command-line arguments, in {@code directory}. */
  static KilnProcess start(Path directory, String... arguments) throws IOException {
    return startWrapped(List.of(), directory, arguments);
  }

  /**
   * Starts Kiln like {@link #start}, through {@code wrapper}: a command that runs the rest of its
   * arguments as a command, such as {@code ip netns exec NAME}. The wrapper must exec Kiln, so that
   * stopping the process stops Kiln.
   */
  static KilnProcess startWrapped(List<String> wrapper, Path directory, String... arguments)
      throws IOException {
    String jar = System.getProperty("kiln.jar");
    if (jar == null || !Files.isRegularFile(Path.of(jar))) {
      fail(
          "kiln.jar not found (system property kiln.jar=%s): build it with mvn package first", jar);
    }
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    List<String> command = new ArrayList<>(wrapper);
    command.addAll(List.of(java.toString(), "--enable-native-access=ALL-UNNAMED", "-jar", jar));
    command.addAll(List.of(arguments));
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.directory(directory.toFile());
    return new KilnProcess(builder.start());
  }

  /** Returns the Firecracker configuration file content for one boot. */
  static String configJson(Path kernel, int vcpuCount, Path initrd) {
    StringBuilder json = new StringBuilder();
    json.append("{\n  \"boot-source\": {\n");
    json.append("    \"kernel_image_path\": ").append(quote(kernel.toString())).append(",\n");
    if (initrd != null) {
      json.append("    \"initrd_path\": ").append(quote(initrd.toString())).append(",\n");
    }
    json.append("    \"boot_args\": ").append(quote(BOOT_ARGS)).append("\n  },\n");
    json.append("  \"machine-config\": {\n");
    json.append("    \"vcpu_count\": ").append(vcpuCount).append(",\n");
    json.append("    \"mem_size_mib\": ").append(MEMORY_MIB).append("\n  }\n}\n");
    return json.toString();
  }

  /**
   * Waits until a stdout line contains {@code text}. Fails the test, after stopping Kiln, if Kiln
   * exits first or the boot timeout passes.
   */
  void awaitOutput(String text) throws InterruptedException {
    awaitOutput(text, BOOT_TIMEOUT);
  }

  /** Waits up to {@code timeout} until a stdout line contains {@code text}; see above. */
  void awaitOutput(String text, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (stdoutLines) {
      while (stdoutLines.stream().noneMatch(line -> line.contains(text))) {
        long remainingMillis = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (remainingMillis <= 0 || (!process.isAlive() && !stdoutReader.isAlive())) {
          break;
        }
        stdoutLines.wait(Math.min(remainingMillis, 100));
      }
      if (stdoutLines.stream().anyMatch(line -> line.contains(text))) {
        return;
      }
    }
    stop();
    fail("Kiln did not print \"%s\" within %s%n%s", text, timeout, transcript());
  }

  /** Returns the process id of Kiln. */
  long pid() {
    return process.pid();
  }

  /** Sends a signal, such as {@code TERM} or {@code INT}, to the Kiln process. */
  void signal(String name) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-s", name, Long.toString(process.pid())).start();
    if (kill.waitFor() != 0) {
      fail("kill -s %s %d failed", name, process.pid());
    }
  }

  /** Writes {@code text} to Kiln's stdin, which Kiln passes to the guest's serial port. */
  void writeInput(String text) throws IOException {
    OutputStream stdin = process.getOutputStream();
    stdin.write(text.getBytes(StandardCharsets.UTF_8));
    stdin.flush();
  }

  /**
   * Waits for Kiln to exit and returns what it printed. Fails the test, after stopping Kiln, if it
   * is still running when the boot timeout passes.
   */
  BootResult awaitExit() throws InterruptedException {
    return awaitExit(BOOT_TIMEOUT);
  }

  /** Waits up to {@code timeout} for Kiln to exit; see {@link #awaitExit()}. */
  BootResult awaitExit(Duration timeout) throws InterruptedException {
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      stop();
      fail("Kiln did not exit within %s%n%s", timeout, transcript());
    }
    stdoutReader.join(READER_JOIN_TIMEOUT);
    stderrReader.join(READER_JOIN_TIMEOUT);
    synchronized (stdoutLines) {
      synchronized (stderr) {
        return new BootResult(process.exitValue(), List.copyOf(stdoutLines), stderr.toString());
      }
    }
  }

  /** Returns everything Kiln printed so far, for failure messages. */
  String transcript() {
    synchronized (stdoutLines) {
      synchronized (stderr) {
        return BootResult.transcript(stdoutLines, stderr.toString());
      }
    }
  }

  @Override
  public void close() {
    stop();
  }

  private void stop() {
    if (!process.isAlive()) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  private void addStdoutLine(String line) {
    synchronized (stdoutLines) {
      stdoutLines.add(line);
      stdoutLines.notifyAll();
    }
  }

  private void addStderrLine(String line) {
    synchronized (stderr) {
      stderr.append(line).append('\n');
    }
  }

  /**
   * Reads {@code stream} line by line. ISO-8859-1 maps every byte to one character, so stray bytes
   * from the guest cannot break decoding.
   */
  private static void readLines(InputStream stream, java.util.function.Consumer<String> sink) {
    try (BufferedReader reader =
        new BufferedReader(new InputStreamReader(stream, StandardCharsets.ISO_8859_1))) {
      String line;
      while ((line = reader.readLine()) != null) {
        sink.accept(line);
      }
    } catch (IOException e) {
      sink.accept("[reading Kiln's output failed: " + e + "]");
    }
  }

  private static String quote(String value) {
    StringBuilder quoted = new StringBuilder("\"");
    for (char c : value.toCharArray()) {
      switch (c) {
        case '"' -> quoted.append("\\\"");
        case '\\' -> quoted.append("\\\\");
        default -> {
          if (c < 0x20) {
            quoted.append(String.format("\\u%04x", (int) c));
          } else {
            quoted.append(c);
          }
        }
      }
    }
    return quoted.append('"').toString();
  }
}
