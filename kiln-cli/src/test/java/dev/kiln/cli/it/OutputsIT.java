package dev.kiln.cli.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where Kiln's outputs go: serial output to a file, log lines and their format, boot timer. */
class OutputsIT {
  @TempDir Path directory;

  @BeforeAll
  static void requireKvm() {
    TestGuests.assumeHostCanBoot();
  }

  private BootResult run(String extraSections, String mode, String... flags)
      throws IOException, InterruptedException {
    String json =
        """
        {"boot-source": {"kernel_image_path": "%s", "boot_args": "kiln.mode=%s"},
         %s
         "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}}
        """
            .formatted(TestGuests.guest("lifecycle"), mode, extraSections);
    Path config = directory.resolve("vm.json");
    Files.writeString(config, json, StandardCharsets.UTF_8);
    String[] arguments = new String[flags.length + 3];
    arguments[0] = "--no-api";
    arguments[1] = "--config-file";
    arguments[2] = config.toString();
    System.arraycopy(flags, 0, arguments, 3, flags.length);
    try (KilnProcess kiln = KilnProcess.start(directory, arguments)) {
      return kiln.awaitExit();
    }
  }

  @Test
  void serialOutPathReceivesConsole() throws Exception {
    Path console = directory.resolve("console.txt");
    BootResult result =
        run("\"serial\": {\"serial_out_path\": \"%s\"},".formatted(console), "boot-timer");
    String all = BootResult.transcript(result.stdout(), result.stderr());
    assertThat(result.exitStatus()).as(all).isZero();
    assertThat(Files.readString(console)).contains("kiln-test: writing to the boot timer");
    assertThat(result.stdout()).as(all).noneMatch(line -> line.contains("kiln-test:"));
  }

  @Test
  void bootTimerLogsGuestBootTime() throws Exception {
    BootResult result = run("", "boot-timer", "--boot-timer");
    String all = BootResult.transcript(result.stdout(), result.stderr());
    assertThat(result.exitStatus()).as(all).isZero();
    assertThat(result.stderr()).as(all).containsPattern("Guest-boot-time = \\d+ us \\d+ ms");
  }

  @Test
  void bootTimerOffByDefault() throws Exception {
    BootResult result = run("", "boot-timer");
    String all = BootResult.transcript(result.stdout(), result.stderr());
    assertThat(result.exitStatus()).as(all).isZero();
    assertThat(result.stderr()).as(all).doesNotContain("Guest-boot-time");
  }

  @Test
  void logPathFlagWritesFormattedLines() throws Exception {
    Path log = directory.resolve("kiln.log");
    BootResult result =
        run(
            "",
            "none",
            "--log-path",
            log.toString(),
            "--show-level",
            "--show-log-origin",
            "--id",
            "vm-42");
    String all = BootResult.transcript(result.stdout(), result.stderr());
    assertThat(result.exitStatus()).as(all).isZero();
    String lines = Files.readString(log);
    assertThat(lines)
        .containsPattern(
            "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9} \\[vm-42:main:INFO:Main\\.java:\\d+\\]"
                + " Running Kiln v");
    assertThat(lines).contains("VM vm-42 stopped: guest reset through the i8042");
    assertThat(result.stderr()).as(all).doesNotContain("Running Kiln");
  }

  @Test
  void loggerSectionSetsLevel() throws Exception {
    Path log = directory.resolve("from-config.log");
    BootResult result =
        run(
            "\"logger\": {\"log_path\": \"%s\", \"level\": \"Warning\", \"show_level\": true},"
                .formatted(log),
            "none");
    String all = BootResult.transcript(result.stdout(), result.stderr());
    assertThat(result.exitStatus()).as(all).isZero();
    String lines = Files.exists(log) ? Files.readString(log) : "";
    assertThat(lines).doesNotContain("VM anonymous-instance started");
  }

  @Test
  void defaultCommandLineWithoutBootArgs() throws Exception {
    String json =
        """
        {"boot-source": {"kernel_image_path": "%s"},
         "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}}
        """
            .formatted(TestGuests.guest("zeropage"));
    Path config = directory.resolve("default-cmdline.json");
    Files.writeString(config, json, StandardCharsets.UTF_8);
    try (KilnProcess kiln =
        KilnProcess.start(directory, "--no-api", "--config-file", config.toString())) {
      BootResult result = kiln.awaitExit();
      String all = BootResult.transcript(result.stdout(), result.stderr());
      assertThat(result.exitStatus()).as(all).isZero();
      assertThat(result.stdout())
          .as(all)
          .anyMatch(
              line ->
                  line.startsWith(
                      "kiln-test: cmdline=reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0"
                          + " i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"));
    }
  }

  @Test
  void loggerSectionKeepsErrorsOnStderr() throws Exception {
    String json =
        """
        {"boot-source": {"kernel_image_path": "%s"},
         "logger": {"level": "Info"}}
        """
            .formatted(directory.resolve("missing-vmlinux"));
    Path config = directory.resolve("logger.json");
    Files.writeString(config, json, StandardCharsets.UTF_8);
    try (KilnProcess kiln =
        KilnProcess.start(directory, "--no-api", "--config-file", config.toString())) {
      BootResult result = kiln.awaitExit();
      String all = BootResult.transcript(result.stdout(), result.stderr());
      assertThat(result.exitStatus()).as(all).isEqualTo(152);
      assertThat(result.stderr()).as(all).contains("missing-vmlinux");
    }
  }

  @Test
  void versionFlagPrintsVersion() throws Exception {
    try (KilnProcess kiln = KilnProcess.start(directory, "--version")) {
      BootResult result = kiln.awaitExit();
      assertThat(result.exitStatus()).isZero();
      assertThat(result.stdout()).anyMatch(line -> line.matches("Kiln v\\d+\\.\\d+\\.\\d+.*"));
    }
  }
}
