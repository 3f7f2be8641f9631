package dev.kiln.cli.it;

import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The freestanding guests in {@code src/test/guests}: builds them with their {@code build.sh} once
 * per JVM and returns their paths.
 */
final class TestGuests {
  /** Maximum time for {@code build.sh}. A full build takes a few seconds. */
  private static final long BUILD_TIMEOUT_SECONDS = 300;

  private static Path outputDirectory;

  private TestGuests() {}

  /**
   * Skips the calling test unless this host can boot the guests: {@code /dev/kvm} must exist and
   * {@code gcc} must be on the PATH.
   */
  static void assumeHostCanBoot() {
    assumeTrue(Files.exists(Path.of("/dev/kvm")), "/dev/kvm is absent");
    assumeTrue(isOnPath("gcc"), "gcc is not on the PATH");
  }

  /** Returns the ELF file of the guest {@code name}, building all guests on the first call. */
  static Path guest(String name) {
    Path elf = build().resolve(name + ".elf");
    if (!Files.isRegularFile(elf)) {
      fail("build.sh did not produce %s", elf);
    }
    return elf;
  }

  /**
   * Writes an initrd of {@code size} bytes that starts with {@code head}, followed by a byte
   * pattern, and returns its path.
   */
  static Path writeInitrd(Path directory, String head, int size) throws IOException {
    byte[] content = new byte[size];
    for (int i = 0; i < size; i++) {
      content[i] = (byte) ('a' + i % 26);
    }
    byte[] headBytes = head.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(headBytes, 0, content, 0, headBytes.length);
    Path initrd = directory.resolve("initrd.img");
    Files.write(initrd, content);
    return initrd;
  }

  private static synchronized Path build() {
    if (outputDirectory != null) {
      return outputDirectory;
    }
    Path moduleDirectory = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
    Path sources =
        Path.of(
            System.getProperty(
                "kiln.testGuests", moduleDirectory.resolve("src/test/guests").toString()));
    Path output = moduleDirectory.resolve("target/test-guests");
    Path script = sources.resolve("build.sh");

    String log;
    int status;
    try {
      Path logFile = Files.createTempFile("kiln-test-guests", ".log");
      try {
        Process process =
            new ProcessBuilder("bash", script.toString(), output.toString())
                .redirectErrorStream(true)
                .redirectOutput(logFile.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        if (!process.waitFor(BUILD_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          fail(
              "%s timed out after %d s:%n%s",
              script, BUILD_TIMEOUT_SECONDS, Files.readString(logFile, StandardCharsets.UTF_8));
        }
        status = process.exitValue();
        log = Files.readString(logFile, StandardCharsets.UTF_8);
      } finally {
        Files.deleteIfExists(logFile);
      }
    } catch (IOException e) {
      throw new AssertionError("failed to run " + script + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while running " + script, e);
    }
    if (status != 0) {
      fail("%s %s failed with exit status %d:%n%s", script, output, status, log);
    }
    outputDirectory = output;
    return output;
  }

  private static boolean isOnPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String directory : path.split(File.pathSeparator)) {
      if (!directory.isEmpty() && Files.isExecutable(Path.of(directory, program))) {
        return true;
      }
    }
    return false;
  }
}
