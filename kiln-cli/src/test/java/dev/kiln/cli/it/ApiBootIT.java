package dev.kiln.cli.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.client.KilnApiException;
import dev.kiln.client.KilnClient;
import dev.kiln.client.model.BootSource;
import dev.kiln.client.model.Drive;
import dev.kiln.client.model.FullVmConfiguration;
import dev.kiln.client.model.InstanceInfo;
import dev.kiln.client.model.PartialDrive;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Boots the default guest once through the API, as Firecracker's getting-started guide does with
 * curl. The Java client then drives the running VM in the order the firecracker-go-sdk uses: state,
 * exported configuration, pause and resume, rejected pre-boot calls and metrics. Last comes
 * Ctrl-Alt-Del, which makes the guest kernel reset through the i8042 and Kiln exit.
 */
class ApiBootIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration SOCKET_WAIT = Duration.ofSeconds(60);

  /** The guest sleeps this long after boot, so it is still up while the test drives it. */
  private static final int GUEST_SLEEP_SECONDS = 60;

  private static final String BOOT_ARGS =
      "console=ttyS0 reboot=k panic=1 pci=off kiln.sleep=" + GUEST_SLEEP_SECONDS;

  /** How long the test watches the serial output of the paused guest. */
  private static final Duration PAUSE_WATCH = Duration.ofSeconds(3);

  /** How long the guest gets to echo input or reset once it runs again. */
  private static final Duration GUEST_REACTION = Duration.ofSeconds(30);

  private static final Duration EXIT_TIMEOUT = Duration.ofMinutes(2);

  @TempDir Path directory;

  @BeforeAll
  static void requireGuest() {
    TestGuests.assumeHostCanBoot();
    Path guest = DefaultGuestIT.guestDirectory();
    boolean built =
        Files.isRegularFile(guest.resolve("bzImage"))
            && Files.isRegularFile(guest.resolve("rootfs.ext4"));
    if (System.getenv("CI") != null) {
      assertThat(built).as("CI must build the default guest first (guest/build.sh)").isTrue();
    }
    assumeTrue(built, "the default guest is not built; run guest/build.sh");
  }

  @Test
  void bootThroughCurlThenDriveWithClient() throws Exception {
    Path guest = DefaultGuestIT.guestDirectory();
    Path rootfs = directory.resolve("rootfs.ext4");
    Files.copy(guest.resolve("rootfs.ext4"), rootfs);
    Path socket = directory.resolve("firecracker.sock");
    Path metrics = directory.resolve("metrics.json");

    try (KilnProcess kiln =
        KilnProcess.start(
            directory,
            "--api-sock",
            socket.toString(),
            "--id",
            "api-boot",
            "--metrics-path",
            metrics.toString())) {
      KilnClient.waitForSocket(socket, SOCKET_WAIT);
      bootWithGettingStartedCommands(socket, guest.resolve("bzImage"), rootfs);
      kiln.awaitOutput("kiln-guest: sleeping " + GUEST_SLEEP_SECONDS + " s");

      try (KilnClient client = new KilnClient(socket)) {
        checkRunningVm(client, kiln, guest.resolve("bzImage"), rootfs);
        checkPauseAndResume(client, kiln);
        checkPreBootCallsRejected(client);
        checkDriveUpdateRejected(client, rootfs);
        checkFlushMetrics(client, metrics);
        client.sendCtrlAltDel();
      }

      BootResult result = kiln.awaitExit(EXIT_TIMEOUT);
      String all = BootResult.transcript(result.stdout(), result.stderr());
      assertThat(result.exitStatus()).as(all).isZero();
      assertThat(result.stderr()).as(all).contains("guest reset through the i8042");
      // The init script prints this only after its sleep, so Ctrl-Alt-Del cut the sleep short.
      assertThat(result.stdout()).as(all).doesNotContain("kiln-guest: powering off");
      assertThat(Files.exists(socket)).as("socket file removed at exit").isFalse();
    }
  }

  /**
   * Sends the curl commands of Firecracker's getting-started guide (docs/getting-started.md), with
   * this test's socket, kernel, root file system and boot arguments. The machine-config command
   * requests 1 vCPU and 256 MiB instead of the guide's 2 and 1024, because the test hosts are
   * small.
   */
  private static void bootWithGettingStartedCommands(Path socket, Path kernel, Path rootfs)
      throws Exception {
    Curl.Result bootSource =
        Curl.run(
            socket,
            "-X",
            "PUT",
            "http://localhost/boot-source",
            "-H",
            "Accept: application/json",
            "-H",
            "Content-Type: application/json",
            "-d",
            """
            {
                "kernel_image_path": "%s",
                "boot_args": "%s"
            }"""
                .formatted(kernel, BOOT_ARGS));
    assertThat(bootSource.status()).as(bootSource.output()).isEqualTo(204);

    Curl.Result drive =
        Curl.run(
            socket,
            "-X",
            "PUT",
            "http://localhost/drives/rootfs",
            "-H",
            "Accept: application/json",
            "-H",
            "Content-Type: application/json",
            "-d",
            """
            {
                "drive_id": "rootfs",
                "path_on_host": "%s",
                "is_root_device": true,
                "is_read_only": false
            }"""
                .formatted(rootfs));
    assertThat(drive.status()).as(drive.output()).isEqualTo(204);

    Curl.Result machine =
        Curl.run(
            socket,
            "-X",
            "PUT",
            "http://localhost/machine-config",
            "-H",
            "Accept: application/json",
            "-H",
            "Content-Type: application/json",
            "-d",
            """
            {
                "vcpu_count": 1,
                "mem_size_mib": 256
            }""");
    assertThat(machine.status()).as(machine.output()).isEqualTo(204);

    Curl.Result start =
        Curl.run(
            socket,
            "-X",
            "PUT",
            "http://localhost/actions",
            "-H",
            "Accept: application/json",
            "-H",
            "Content-Type: application/json",
            "-d",
            """
            {
                "action_type": "InstanceStart"
             }""");
    assertThat(start.status()).as(start.output()).isEqualTo(204);
  }

  private static void checkRunningVm(KilnClient client, KilnProcess kiln, Path kernel, Path rootfs)
      throws Exception {
    InstanceInfo info = client.describeInstance();
    assertThat(info.state()).as(kiln.transcript()).isEqualTo(InstanceInfo.State.RUNNING);
    assertThat(info.id()).isEqualTo("api-boot");

    FullVmConfiguration config = client.getExportVmConfig();
    assertThat(config.bootSource().kernelImagePath()).isEqualTo(kernel.toString());
    assertThat(config.bootSource().bootArgs()).isEqualTo(BOOT_ARGS);
    assertThat(config.machineConfig().vcpuCount()).isEqualTo(1);
    assertThat(config.machineConfig().memSizeMib()).isEqualTo(256);
    List<Drive> drives = config.drives();
    assertThat(drives).hasSize(1);
    assertThat(drives.getFirst().driveId()).isEqualTo("rootfs");
    assertThat(drives.getFirst().pathOnHost()).isEqualTo(rootfs.toString());
    assertThat(drives.getFirst().isRootDevice()).isTrue();
  }

  /**
   * Pauses the VM and types a marker on the serial console. The guest's tty echoes typed input, but
   * only once its vCPU runs again, so the marker must appear only after the resume.
   */
  private static void checkPauseAndResume(KilnClient client, KilnProcess kiln) throws Exception {
    client.pause();
    assertThat(client.describeInstance().state()).isEqualTo(InstanceInfo.State.PAUSED);

    String marker = "kilnpaused" + Long.toHexString(System.nanoTime());
    kiln.writeInput(marker + "\n");
    Thread.sleep(PAUSE_WATCH.toMillis());
    assertThat(kiln.transcript()).as("serial output while paused").doesNotContain(marker);

    client.resume();
    assertThat(client.describeInstance().state()).isEqualTo(InstanceInfo.State.RUNNING);
    long deadline = System.nanoTime() + GUEST_REACTION.toNanos();
    while (!kiln.transcript().contains(marker) && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    assertThat(kiln.transcript()).as("the guest echoed the input after resume").contains(marker);
  }

  private static void checkPreBootCallsRejected(KilnClient client) {
    assertThatThrownBy(client::startInstance)
        .isInstanceOfSatisfying(
            KilnApiException.class,
            e -> {
              assertThat(e.statusCode()).isEqualTo(400);
              assertThat(e.faultMessage()).contains("not supported after starting the microVM");
            });
    assertThatThrownBy(() -> client.putGuestBootSource(BootSource.of("/other/kernel")))
        .isInstanceOfSatisfying(
            KilnApiException.class,
            e -> {
              assertThat(e.statusCode()).isEqualTo(400);
              assertThat(e.faultMessage()).contains("not supported after starting the microVM");
            });
  }

  /**
   * Checks that pointing a running drive at a file that does not exist fails with a message naming
   * it, and that the drive keeps its file.
   */
  private static void checkDriveUpdateRejected(KilnClient client, Path rootfs) {
    String missing = rootfs.resolveSibling("no-such-disk.img").toString();
    PartialDrive update = new PartialDrive("rootfs", missing, null);

    assertThatThrownBy(() -> client.patchGuestDriveByID("rootfs", update))
        .isInstanceOfSatisfying(
            KilnApiException.class,
            e -> {
              assertThat(e.statusCode()).isEqualTo(400);
              assertThat(e.faultMessage()).contains(missing);
            });
  }

  private static void checkFlushMetrics(KilnClient client, Path metrics) throws Exception {
    int before = Files.exists(metrics) ? Files.readAllLines(metrics).size() : 0;

    client.flushMetrics();

    List<String> lines = Files.readAllLines(metrics);
    assertThat(lines).hasSizeGreaterThan(before);
    JsonNode last = JSON.readTree(lines.getLast());
    assertThat(last.isObject()).as(lines.getLast()).isTrue();
    assertThat(last.isEmpty()).as(lines.getLast()).isFalse();
  }
}
