package dev.kiln.cli.it;

import static dev.kiln.cli.it.HostCommands.run;
import static dev.kiln.cli.it.HostCommands.runQuietly;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The virtio-net device end to end: the test makes a network namespace of its own with a TAP in it,
 * serves a random 1 MiB file from the namespace with busybox httpd, runs Kiln inside the namespace
 * on that TAP, and has the default guest fetch the file with wget. The guest's size and MD5 of what
 * it got must match the file. Everything is torn down even when the test fails.
 *
 * <p>The guest gets its address from {@code kiln.ip} and fetches with {@code kiln.fetch}; its init
 * prints {@code fetch_bytes} and {@code fetch_md5} lines.
 *
 * <p>It needs root, {@code ip} and {@code busybox}; without them it is skipped, except in CI (the
 * environment variable CI set), where it fails instead. The TAP that cannot be opened is tested
 * without them.
 */
class NetIT {
  private static final Duration BOOT_TIMEOUT = Duration.ofMinutes(10);
  private static final String TAP = "kilntap0";
  private static final String HOST_ADDRESS = "10.200.0.1";
  private static final String GUEST_ADDRESS = "10.200.0.2";
  private static final int PORT = 8080;
  private static final int FILE_BYTES = 1 << 20;

  @TempDir Path directory;

  @BeforeAll
  static void requireKvm() {
    TestGuests.assumeHostCanBoot();
  }

  /** Skips, or in CI fails, unless the host has what the namespace test needs. */
  private static void requireNetworkTools() {
    List<String> missing = new ArrayList<>();
    if (!"root".equals(System.getProperty("user.name"))) {
      missing.add("root (network namespaces and TAP devices need it)");
    }
    for (String tool : List.of("ip", "busybox")) {
      if (!onPath(tool)) {
        missing.add("`" + tool + "` on the PATH");
      }
    }
    if (!Files.exists(Path.of("/dev/net/tun"))) {
      missing.add("/dev/net/tun");
    }
    Path guest = DefaultGuestIT.guestDirectory();
    if (!Files.isRegularFile(guest.resolve("bzImage"))
        || !Files.isRegularFile(guest.resolve("initramfs.cpio.gz"))) {
      missing.add("the default guest (guest/build.sh)");
    }
    String reason = "NetIT needs " + String.join(", ", missing);
    if (System.getenv("CI") != null && !missing.isEmpty()) {
      fail(reason + "; CI must provide them");
    }
    assumeTrue(missing.isEmpty(), reason);
  }

  private static boolean onPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String dir : path.split(":")) {
      if (Files.isExecutable(Path.of(dir, program))) {
        return true;
      }
    }
    return false;
  }

  @Test
  void guestFetchesAFileThroughTheTap() throws Exception {
    requireNetworkTools();
    String namespace = "kiln-netit-" + ProcessHandle.current().pid();
    Path www = Files.createDirectory(directory.resolve("www"));
    byte[] file = new byte[FILE_BYTES];
    new Random().nextBytes(file);
    Files.write(www.resolve("file"), file);
    String md5 = md5(file);

    Process httpd = null;
    try {
      run("ip", "netns", "add", namespace);
      run("ip", "-n", namespace, "link", "set", "lo", "up");
      run("ip", "-n", namespace, "tuntap", "add", "dev", TAP, "mode", "tap");
      run("ip", "-n", namespace, "addr", "add", HOST_ADDRESS + "/24", "dev", TAP);
      run("ip", "-n", namespace, "link", "set", TAP, "up");
      httpd =
          new ProcessBuilder(
                  "ip",
                  "netns",
                  "exec",
                  namespace,
                  "busybox",
                  "httpd",
                  "-f",
                  "-p",
                  HOST_ADDRESS + ":" + PORT,
                  "-h",
                  www.toString())
              .redirectErrorStream(true)
              .redirectOutput(directory.resolve("httpd.log").toFile())
              .start();

      Path guest = DefaultGuestIT.guestDirectory();
      String bootArgs =
          String.format(
              "console=ttyS0 reboot=k panic=1 kiln.ip=%s/24 kiln.fetch=http://%s:%d/file",
              GUEST_ADDRESS, HOST_ADDRESS, PORT);
      String json =
          """
          {
            "boot-source": {
              "kernel_image_path": "%s",
              "initrd_path": "%s",
              "boot_args": "%s"
            },
            "network-interfaces": [
              {"iface_id": "eth0", "host_dev_name": "%s", "guest_mac": "06:00:0a:c8:00:02"}
            ],
            "machine-config": {"vcpu_count": 1, "mem_size_mib": 256}
          }
          """
              .formatted(
                  guest.resolve("bzImage"), guest.resolve("initramfs.cpio.gz"), bootArgs, TAP);
      Path config = directory.resolve("vm.json");
      Files.writeString(config, json, StandardCharsets.UTF_8);

      BootResult result;
      try (KilnProcess kiln =
          KilnProcess.startWrapped(
              List.of("ip", "netns", "exec", namespace),
              directory,
              "--no-api",
              "--config-file",
              config.toString())) {
        result = kiln.awaitExit(BOOT_TIMEOUT);
      }
      String all = BootResult.transcript(result.stdout(), result.stderr());
      assertThat(result.exitStatus()).as(all).isZero();
      assertThat(result.stdout()).as(all).contains("kiln-guest: ip=" + GUEST_ADDRESS + "/24");
      assertThat(result.stdout()).as(all).contains("kiln-guest: fetch_bytes=" + FILE_BYTES);
      assertThat(result.stdout()).as(all).contains("kiln-guest: fetch_md5=" + md5);
      assertThat(result.stderr()).as(all).containsPattern("virtio-net eth0: [1-9][0-9]* frames");
    } finally {
      if (httpd != null) {
        httpd.destroy();
        if (!httpd.waitFor(5, TimeUnit.SECONDS)) {
          httpd.destroyForcibly();
        }
      }
      // Deleting the namespace deletes the TAP in it.
      runQuietly("ip", "netns", "delete", namespace);
    }
  }

  @Test
  void tapThatCannotBeOpenedStopsTheStart() throws Exception {
    // "lo" exists in every namespace and is no TAP: TUNSETIFF fails with EINVAL for root, EPERM
    // for others. Either way Kiln must stop before the VM starts, naming the interface and TAP.
    Path guest = DefaultGuestIT.guestDirectory();
    assumeTrue(Files.isRegularFile(guest.resolve("bzImage")), "the default guest is not built");
    String json =
        """
        {
          "boot-source": {"kernel_image_path": "%s"},
          "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "lo"}],
          "machine-config": {"vcpu_count": 1, "mem_size_mib": 128}
        }
        """
            .formatted(guest.resolve("bzImage"));
    Path config = directory.resolve("vm.json");
    Files.writeString(config, json, StandardCharsets.UTF_8);
    BootResult result;
    try (KilnProcess kiln =
        KilnProcess.start(directory, "--no-api", "--config-file", config.toString())) {
      result = kiln.awaitExit();
    }
    String all = BootResult.transcript(result.stdout(), result.stderr());
    assertThat(result.exitStatus()).as(all).isEqualTo(152);
    assertThat(result.stderr()).as(all).contains("network interface eth0: cannot open TAP lo");
    assertThat(result.stderr()).as(all).doesNotContain("started with");
  }

  private static String md5(byte[] data) throws NoSuchAlgorithmException {
    return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(data));
  }
}
