package dev.kiln.cli.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How the VM ends: signals, a triple fault, a vCPU failure, and a guest hammering bad addresses.
 */
class LifecycleIT {
  @TempDir Path directory;

  @BeforeAll
  static void requireKvm() {
    TestGuests.assumeHostCanBoot();
  }

  private KilnProcess start(String mode, int vcpus) throws IOException {
    String json =
        """
        {"boot-source": {"kernel_image_path": "%s", "boot_args": "kiln.mode=%s"},
         "machine-config": {"vcpu_count": %d, "mem_size_mib": 64}}
        """
            .formatted(TestGuests.guest("lifecycle"), mode, vcpus);
    Path config = directory.resolve("vm.json");
    Files.writeString(config, json, StandardCharsets.UTF_8);
    return KilnProcess.start(directory, "--no-api", "--config-file", config.toString());
  }

  private void assertStopsOnSignal(String signal) throws Exception {
    try (KilnProcess kiln = start("spin", 2)) {
      kiln.awaitOutput("kiln-test: spinning");
      kiln.signal(signal);
      BootResult result = kiln.awaitExit();
      String all = BootResult.transcript(result.stdout(), result.stderr());
      assertThat(result.exitStatus()).as(all).isZero();
      assertThat(result.stderr()).as(all).contains("stopped: received SIG" + signal);
    }
  }

  @Test
  void sigtermStopsSpinningGuest() throws Exception {
    assertStopsOnSignal("TERM");
  }

  @Test
  void sigintStopsSpinningGuest() throws Exception {
    assertStopsOnSignal("INT");
  }

  @Test
  void tripleFaultEndsVmCleanly() throws Exception {
    try (KilnProcess kiln = start("triple", 1)) {
      BootResult result = kiln.awaitExit();
      String all = BootResult.transcript(result.stdout(), result.stderr());
      assertThat(result.exitStatus()).as(all).isZero();
      assertThat(result.stdout()).as(all).contains("kiln-test: triple fault next");
      assertThat(result.stderr()).as(all).contains("triple-faulted");
    }
  }

  @Test
  void vcpuFailureLogsRegistersAndFails() throws Exception {
    try (KilnProcess kiln = start("mmio-exec", 1)) {
      BootResult result = kiln.awaitExit();
      String all = BootResult.transcript(result.stdout(), result.stderr());
      assertThat(result.exitStatus()).as(all).isEqualTo(1);
      assertThat(result.stderr()).as(all).contains("0xd0001000");
      assertThat(result.stderr()).as(all).contains("rip=00000000d0001000");
      assertThat(result.stderr()).as(all).contains("cr0=");
    }
  }

  @Test
  void unclaimedPortsAndMmioSurvived() throws Exception {
    try (KilnProcess kiln = start("bad-io", 1)) {
      BootResult result = kiln.awaitExit();
      String all = BootResult.transcript(result.stdout(), result.stderr());
      assertThat(result.exitStatus()).as(all).isZero();
      assertThat(result.stdout())
          .as(all)
          .contains("kiln-test: bad-io survived, unclaimed port byte reads as ff");
    }
  }
}
