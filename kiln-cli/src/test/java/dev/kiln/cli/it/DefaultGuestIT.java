package dev.kiln.cli.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Boots the default guest (the kernel, initramfs and root file system that guest/build.sh makes) to
 * its init banner and reset in three ways. The bzImage boots with an initrd on 1 vCPU, and from a
 * virtio-blk root with a read-only second drive. PVH boots with an initrd, a balloon and the
 * entropy device on 2 vCPUs. One boot takes about a minute on nested KVM, so each checks several
 * things.
 */
class DefaultGuestIT {
  private static final Duration BOOT_TIMEOUT = Duration.ofMinutes(10);
  private static final String BANNER_START = "Kiln guest: Linux 6.1";
  private static final String BOOT_ARGS = "console=ttyS0 reboot=k panic=1 pci=off kiln.check=e2e";

  @TempDir Path directory;

  @BeforeAll
  static void requireGuest() {
    TestGuests.assumeHostCanBoot();
    Path guest = guestDirectory();
    boolean built =
        Files.isRegularFile(guest.resolve("vmlinux"))
            && Files.isRegularFile(guest.resolve("bzImage"))
            && Files.isRegularFile(guest.resolve("initramfs.cpio.gz"));
    if (System.getenv("CI") != null) {
      assertThat(built).as("CI must build the default guest first (guest/build.sh)").isTrue();
    }
    assumeTrue(built, "the default guest is not built; run guest/build.sh");
  }

  static Path guestDirectory() {
    String cache = System.getenv("KILN_CACHE");
    Path base =
        cache != null ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache", "kiln");
    return base.resolve("guest");
  }

  private BootResult boot(String kernel, int vcpus) throws IOException, InterruptedException {
    return boot(kernel, vcpus, "");
  }

  /**
   * Boots the default guest.
   *
   * @param extraSections config-file sections to add, each followed by a comma
   */
  private BootResult boot(String kernel, int vcpus, String extraSections)
      throws IOException, InterruptedException {
    Path guest = guestDirectory();
    String json =
        """
        {
          %s
          "boot-source": {
            "kernel_image_path": "%s",
            "initrd_path": "%s",
            "boot_args": "%s"
          },
          "machine-config": {"vcpu_count": %d, "mem_size_mib": 256}
        }
        """
            .formatted(
                extraSections,
                guest.resolve(kernel),
                guest.resolve("initramfs.cpio.gz"),
                BOOT_ARGS,
                vcpus);
    Path config = directory.resolve("vm.json");
    Files.writeString(config, json, StandardCharsets.UTF_8);
    try (KilnProcess kiln =
        KilnProcess.start(
            directory, "--no-api", "--config-file", config.toString(), "--boot-timer")) {
      return kiln.awaitExit(BOOT_TIMEOUT);
    }
  }

  private static void assertBootedToInit(BootResult result, int vcpus) {
    String all = BootResult.transcript(result.stdout(), result.stderr());
    List<String> out = result.stdout();
    assertThat(result.exitStatus()).as(all).isZero();
    assertThat(out)
        .as(all)
        .anyMatch(line -> line.startsWith(BANNER_START) && line.endsWith("is up"));
    assertThat(out).as(all).contains("kiln-guest: cpus=" + vcpus);
    assertThat(out)
        .as(all)
        .anyMatch(
            line -> line.startsWith("kiln-guest: cmdline=") && line.contains("kiln.check=e2e"));
    assertThat(out).as(all).contains("kiln-guest: powering off");
    assertThat(result.stderr()).as(all).contains("guest reset through the i8042");
  }

  @Test
  void bzImageBootsWithInitrdOnOneVcpu() throws Exception {
    BootResult result = boot("bzImage", 1);
    assertBootedToInit(result, 1);
    String all = BootResult.transcript(result.stdout(), result.stderr());
    // The random seed in setup_data makes the kernel's RNG ready at once.
    assertThat(result.stdout()).as(all).anyMatch(line -> line.contains("crng init done"));
    assertThat(result.stdout()).as(all).anyMatch(line -> line.contains("is a 16550A"));
  }

  @Test
  void bzImageBootsFromVirtioBlockRoot() throws Exception {
    Path guest = guestDirectory();
    Path rootfs = directory.resolve("rootfs.ext4");
    Files.copy(guest.resolve("rootfs.ext4"), rootfs);
    Path data = directory.resolve("data.img");
    Files.write(data, new byte[1 << 20]);
    String word = "kiln" + Long.toHexString(System.nanoTime());
    String json =
        """
        {
          "boot-source": {
            "kernel_image_path": "%s",
            "boot_args": "%s kiln.marker=%s kiln.rotest"
          },
          "drives": [
            {"drive_id": "data", "path_on_host": "%s", "is_root_device": false,
             "is_read_only": true},
            {"drive_id": "rootfs", "path_on_host": "%s", "is_root_device": true,
             "is_read_only": false, "cache_type": "Writeback"}
          ],
          "machine-config": {"vcpu_count": 1, "mem_size_mib": 256}
        }
        """
            .formatted(guest.resolve("bzImage"), BOOT_ARGS, word, data, rootfs);
    Path config = directory.resolve("vm.json");
    Files.writeString(config, json, StandardCharsets.UTF_8);
    BootResult result;
    try (KilnProcess kiln =
        KilnProcess.start(directory, "--no-api", "--config-file", config.toString())) {
      result = kiln.awaitExit(BOOT_TIMEOUT);
    }
    String all = BootResult.transcript(result.stdout(), result.stderr());
    assertBootedToInit(result, 1);
    // The root drive is attached first, so it is vda even though it is listed second.
    assertThat(result.stdout()).as(all).contains("kiln-guest: block=vda vdb");
    assertThat(result.stdout()).as(all).anyMatch(line -> line.contains("root=/dev/vda rw"));
    assertThat(result.stdout()).as(all).contains("kiln-guest: marker written");
    assertThat(result.stdout()).as(all).contains("kiln-guest: rotest=refused");
    assertThat(readFromExt4(rootfs, "/kiln-marker")).as(all).isEqualTo(word + "\n");
    assertThat(Files.readAllBytes(data)).as("the read-only drive is unchanged").containsOnly(0);
  }

  @Test
  void bzImageBootsFromAsyncVirtioBlockRoot() throws Exception {
    Path guest = guestDirectory();
    Path rootfs = directory.resolve("rootfs.ext4");
    Files.copy(guest.resolve("rootfs.ext4"), rootfs);
    String word = "uring" + Long.toHexString(System.nanoTime());
    String json =
        """
        {
          "boot-source": {
            "kernel_image_path": "%s",
            "boot_args": "%s kiln.marker=%s"
          },
          "drives": [
            {"drive_id": "rootfs", "path_on_host": "%s", "is_root_device": true,
             "is_read_only": false, "cache_type": "Writeback", "io_engine": "Async"}
          ],
          "machine-config": {"vcpu_count": 1, "mem_size_mib": 256}
        }
        """
            .formatted(guest.resolve("bzImage"), BOOT_ARGS, word, rootfs);
    Path config = directory.resolve("vm.json");
    Files.writeString(config, json, StandardCharsets.UTF_8);
    BootResult result;
    try (KilnProcess kiln =
        KilnProcess.start(directory, "--no-api", "--config-file", config.toString())) {
      result = kiln.awaitExit(BOOT_TIMEOUT);
    }
    String all = BootResult.transcript(result.stdout(), result.stderr());
    assertBootedToInit(result, 1);
    assertThat(result.stderr()).as(all).contains("Drive rootfs: io_engine Async, io_uring set up");
    assertThat(result.stdout()).as(all).contains("kiln-guest: marker written");
    assertThat(readFromExt4(rootfs, "/kiln-marker")).as(all).isEqualTo(word + "\n");
  }

  /** Returns the guest's MemTotal in KiB from its {@code kiln-guest: mem_kib=} line. */
  private static long memKib(BootResult result) {
    return result.stdout().stream()
        .filter(line -> line.startsWith("kiln-guest: mem_kib="))
        .mapToLong(line -> Long.parseLong(line.substring("kiln-guest: mem_kib=".length()).trim()))
        .findFirst()
        .orElse(Long.MAX_VALUE);
  }

  /** Reads a file out of an ext4 image with debugfs from e2fsprogs. */
  private static String readFromExt4(Path image, String file)
      throws IOException, InterruptedException {
    Process debugfs =
        new ProcessBuilder("debugfs", "-R", "cat " + file, image.toString())
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    String content = new String(debugfs.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(debugfs.waitFor()).as("debugfs exit status").isZero();
    return content;
  }

  @Test
  void pvhBootsWithInitrdOnTwoVcpus() throws Exception {
    BootResult result =
        boot(
            "vmlinux",
            2,
            "\"balloon\": {\"amount_mib\": 32, \"deflate_on_oom\": false,"
                + " \"stats_polling_interval_s\": 1}, \"entropy\": {},");
    assertBootedToInit(result, 2);
    String all = BootResult.transcript(result.stdout(), result.stderr());
    // The entropy device serves the guest's /dev/hwrng: 16 bytes, as 32 hex digits.
    assertThat(result.stdout())
        .as(all)
        .anyMatch(line -> line.matches("kiln-guest: hwrng=[0-9a-f]{32}"));
    // The balloon takes the first slot, as in Firecracker, and the entropy device the second.
    // Without acpi=off the guest finds both in the DSDT.
    assertThat(result.stderr()).as(all).contains("virtio balloon at 0xd0001000 IRQ 5");
    assertThat(result.stderr()).as(all).contains("virtio entropy at 0xd0002000 IRQ 6");
    assertThat(result.stdout()).as(all).contains("kiln-guest: acpi=yes");
    assertThat(result.stdout()).as(all).contains("kiln-guest: virtio-mmio=LNRO0005:00 LNRO0005:01");
    // The guest's driver inflates the balloon to its 32 MiB target (8192 pages of 4 KiB) at
    // boot, and without deflate_on_oom Linux takes those pages out of MemTotal.
    assertThat(result.stderr()).as(all).contains("the guest inflated 8192 pages");
    assertThat(memKib(result)).as(all).isLessThan((256 - 32) * 1024);
    assertThat(result.stderr()).as(all).contains("PVH boot");
    assertThat(result.stdout())
        .as(all)
        .anyMatch(line -> line.contains("Brought up 1 node, 2 CPUs"));
  }
}
