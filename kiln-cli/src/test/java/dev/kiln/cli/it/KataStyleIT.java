package dev.kiln.cli.it;

import static dev.kiln.cli.it.HostCommands.run;
import static dev.kiln.cli.it.HostCommands.runQuietly;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.client.KilnClient;
import dev.kiln.client.model.InstanceInfo;
import dev.kiln.client.model.PartialDrive;
import dev.kiln.client.model.PartialNetworkInterface;
import dev.kiln.client.model.RateLimiter;
import dev.kiln.client.model.TokenBucket;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Boots the default guest the way Kata Containers configures Firecracker: a config file given
 * together with the API socket, vsock with the deprecated {@code vsock_id}, the logger and metrics
 * on named pipes, a root drive and a placeholder drive with rate limiters, and a network interface
 * on a TAP (in a namespace of the test's own) with rate limiters. While the guest runs, the test
 * hot-plugs a disk as Kata does, by pointing the placeholder drive at another file with {@code
 * PATCH /drives/{id}}, and reads the new disk's first bytes from inside the guest.
 */
class KataStyleIT {
  private static final Duration GUEST_TIMEOUT = Duration.ofMinutes(10);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TAP = "kilnkata0";

  @TempDir Path directory;

  @BeforeAll
  static void requireGuest() {
    DefaultGuestIT.requireGuest();
  }

  private static void requireRoot() {
    boolean root = "root".equals(System.getProperty("user.name"));
    if (System.getenv("CI") != null && !root) {
      fail("KataStyleIT needs root for its network namespace and TAP; CI must run as root");
    }
    assumeTrue(root, "KataStyleIT needs root for its network namespace and TAP");
  }

  @Test
  void kataConfigHotPlugsDrive() throws Exception {
    requireRoot();
    String namespace = "kiln-kata-" + ProcessHandle.current().pid();
    Path guest = DefaultGuestIT.guestDirectory();
    Path rootfs = directory.resolve("rootfs.ext4");
    Files.copy(guest.resolve("rootfs.ext4"), rootfs);
    Path placeholder = directory.resolve("placeholder.img");
    Files.write(placeholder, new byte[4096]);
    String marker = "KILN-HOTPLUG-" + Long.toHexString(System.nanoTime());
    Path disk = directory.resolve("container.img");
    byte[] content = new byte[1 << 20];
    byte[] markerBytes = (marker + "\n").getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(markerBytes, 0, content, 0, markerBytes.length);
    Files.write(disk, content);
    Path logFifo = mkfifo("log.fifo");
    Path metricsFifo = mkfifo("metrics.fifo");
    Path socket = directory.resolve("api.sock");
    Path vsock = directory.resolve("kata.hvsock");
    List<String> logLines = new ArrayList<>();
    List<String> metricsLines = new ArrayList<>();
    readLines(logFifo, logLines);
    readLines(metricsFifo, metricsLines);

    String limiter =
        "{\"bandwidth\": {\"size\": 104857600, \"refill_time\": 1000},"
            + " \"ops\": {\"size\": 10000, \"refill_time\": 1000}}";
    String json =
        """
        {
          "boot-source": {
            "kernel_image_path": "%s",
            "boot_args": "console=ttyS0 reboot=k panic=1 pci=off kiln.ip=10.201.0.2/24 kiln.shell"
          },
          "drives": [
            {"drive_id": "rootfs", "path_on_host": "%s", "is_root_device": true,
             "is_read_only": false, "rate_limiter": %s},
            {"drive_id": "drive_1", "path_on_host": "%s", "is_root_device": false,
             "is_read_only": false, "rate_limiter": %s}
          ],
          "network-interfaces": [
            {"iface_id": "eth0", "host_dev_name": "%s", "guest_mac": "06:00:0a:c9:00:02",
             "rx_rate_limiter": %s, "tx_rate_limiter": %s}
          ],
          "vsock": {"vsock_id": "root", "guest_cid": 3, "uds_path": "%s"},
          "logger": {"log_path": "%s", "level": "Debug", "show_level": true,
                     "show_log_origin": true},
          "metrics": {"metrics_path": "%s"},
          "machine-config": {"vcpu_count": 1, "mem_size_mib": 256}
        }
        """
            .formatted(
                guest.resolve("bzImage"),
                rootfs,
                limiter,
                placeholder,
                limiter,
                TAP,
                limiter,
                limiter,
                vsock,
                logFifo,
                metricsFifo);
    Path config = directory.resolve("vm.json");
    Files.writeString(config, json, StandardCharsets.UTF_8);

    try {
      run("ip", "netns", "add", namespace);
      run("ip", "-n", namespace, "tuntap", "add", "dev", TAP, "mode", "tap");
      run("ip", "-n", namespace, "addr", "add", "10.201.0.1/24", "dev", TAP);
      run("ip", "-n", namespace, "link", "set", TAP, "up");
      BootResult result;
      try (KilnProcess kiln =
              KilnProcess.startWrapped(
                  List.of("ip", "netns", "exec", namespace),
                  directory,
                  "--api-sock",
                  socket.toString(),
                  "--config-file",
                  config.toString());
          KilnClient client = new KilnClient(socket)) {
        kiln.awaitOutput("kiln-guest: starting a shell", GUEST_TIMEOUT);
        assertThat(client.describeInstance().state()).isEqualTo(InstanceInfo.State.RUNNING);
        assertThat(Files.exists(vsock)).as("the vsock socket while the VM runs").isTrue();

        // Kata's hot-plug: the placeholder drive now points at the container's disk.
        client.patchGuestDriveByID("drive_1", new PartialDrive("drive_1", disk.toString(), null));
        // Rate limiters change on a running drive and interface.
        RateLimiter slower =
            new RateLimiter(TokenBucket.of(52428800, 1000), TokenBucket.of(5000, 1000));
        client.patchGuestDriveByID("rootfs", new PartialDrive("rootfs", null, slower));
        client.patchGuestNetworkInterfaceByID(
            "eth0", new PartialNetworkInterface("eth0", slower, slower));
        client.flushMetrics();

        // Input that arrives before the shell reads the console is partly lost.
        Thread.sleep(3000);
        kiln.writeInput(
            "blockdev --flushbufs /dev/vdb; echo 3 > /proc/sys/vm/drop_caches;"
                + " head -c 40 /dev/vdb | head -n 1; exit\n");
        result = kiln.awaitExit(GUEST_TIMEOUT);
      }
      String all = BootResult.transcript(result.stdout(), result.stderr());
      assertThat(result.exitStatus()).as(all).isZero();
      // The typed command does not hold the marker, so only the disk's bytes can print it.
      assertThat(result.stdout()).as(all).anyMatch(line -> line.startsWith(marker));
      assertThat(result.stdout()).as(all).anyMatch(line -> line.contains("[vdb] new size"));
      assertThat(result.stdout()).as(all).contains("kiln-guest: ip=10.201.0.2/24");
      assertThat(Files.exists(vsock)).as("the vsock socket is removed at exit").isFalse();

      // The readers have seen Kiln's last lines once it has exited and they read to the end.
      Thread.sleep(TimeUnit.SECONDS.toMillis(1));
      synchronized (logLines) {
        // show_level and show_log_origin: "[id:thread:LEVEL:File.java:line] message".
        assertThat(logLines)
            .as(String.join("\n", logLines))
            .anyMatch(
                line ->
                    line.matches(".*\\[anonymous-instance:[^]]*:INFO:[A-Za-z]+\\.java:\\d+\\].*"));
        assertThat(logLines).anyMatch(line -> line.contains("Drive drive_1 now uses " + disk));
      }
      synchronized (metricsLines) {
        assertThat(metricsLines)
            .as("one line for FlushMetrics and one at exit")
            .hasSizeGreaterThanOrEqualTo(2);
        JsonNode flushed = JSON.readTree(metricsLines.get(0));
        assertThat(flushed.get("block_drive_1").get("update_count").asLong()).isEqualTo(1);
        assertThat(flushed.get("block_rootfs").get("read_count").asLong()).isPositive();
        assertThat(flushed.get("net_eth0")).isNotNull();
        assertThat(flushed.get("vsock")).isNotNull();
      }
    } finally {
      runQuietly("ip", "netns", "delete", namespace);
    }
  }

  private Path mkfifo(String name) throws IOException, InterruptedException {
    Path fifo = directory.resolve(name);
    run("mkfifo", fifo.toString());
    return fifo;
  }

  /**
   * Reads a named pipe's lines on a daemon thread, opening it again after each end of file: Kiln
   * opens and closes it once to check for a reader before it opens it for good.
   */
  private static void readLines(Path fifo, List<String> sink) {
    Thread.ofPlatform()
        .daemon()
        .start(
            () -> {
              while (true) {
                try (BufferedReader in =
                    new BufferedReader(
                        new InputStreamReader(
                            Files.newInputStream(fifo), StandardCharsets.UTF_8))) {
                  String line;
                  while ((line = in.readLine()) != null) {
                    synchronized (sink) {
                      sink.add(line);
                    }
                  }
                } catch (IOException e) {
                  synchronized (sink) {
                    sink.add("reading " + fifo + " failed: " + e);
                  }
                  return;
                }
              }
            });
  }
}
