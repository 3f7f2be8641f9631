package dev.kiln.cli.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.client.KilnClient;
import dev.kiln.client.model.BalloonStats;
import dev.kiln.client.model.BalloonUpdate;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inflates the balloon of a running default guest through the API and checks that Kiln's resident
 * memory goes down: the guest first writes 64 MiB and frees it, so those pages are resident in
 * Kiln, then the balloon takes most of them and Kiln gives them back to the host.
 */
class BalloonIT {
  // The guest has 128 MiB, of which about 85 MiB are free after boot. It touches 64 MiB of them,
  // so a 64 MiB balloon must take at least 43 MiB of touched, resident pages whichever free pages
  // the guest's driver picks. Each touched page costs a page fault that this host emulates, which
  // is why the guest is small.
  private static final int MEMORY_MIB = 128;
  private static final int TOUCH_MIB = 64;
  private static final int BALLOON_MIB = 64;
  private static final int MIN_DROP_MIB = 32;
  private static final Duration GUEST_TIMEOUT = Duration.ofMinutes(10);

  @TempDir Path directory;

  @BeforeAll
  static void requireGuest() {
    DefaultGuestIT.requireGuest();
  }

  @Test
  void inflationLowersResidentMemory() throws Exception {
    Path guest = DefaultGuestIT.guestDirectory();
    Path socket = directory.resolve("api.sock");
    String json =
        """
        {
          "boot-source": {
            "kernel_image_path": "%s",
            "initrd_path": "%s",
            "boot_args": "console=ttyS0 reboot=k panic=1 kiln.touch=%d kiln.sleep=300"
          },
          "machine-config": {"vcpu_count": 1, "mem_size_mib": %d},
          "balloon": {"amount_mib": 0, "deflate_on_oom": false, "stats_polling_interval_s": 1}
        }
        """
            .formatted(
                guest.resolve("vmlinux"),
                guest.resolve("initramfs.cpio.gz"),
                TOUCH_MIB,
                MEMORY_MIB);
    Path config = directory.resolve("vm.json");
    Files.writeString(config, json, StandardCharsets.UTF_8);
    try (KilnProcess kiln =
            KilnProcess.start(
                directory, "--api-sock", socket.toString(), "--config-file", config.toString());
        KilnClient client = new KilnClient(socket)) {
      kiln.awaitOutput("kiln-guest: sleeping", GUEST_TIMEOUT);
      long before = residentKib(kiln.pid());
      assertThat(before)
          .as("Kiln holds the memory the guest touched\n%s", kiln.transcript())
          .isGreaterThan(TOUCH_MIB * 1024L);

      client.patchBalloon(new BalloonUpdate(BALLOON_MIB));
      BalloonStats stats = awaitInflated(client, Duration.ofMinutes(3));
      long after = residentKib(kiln.pid());

      assertThat(stats.actualMib()).as(kiln.transcript()).isEqualTo(BALLOON_MIB);
      assertThat(before - after)
          .as("resident memory before %d KiB, after %d KiB\n%s", before, after, kiln.transcript())
          .isGreaterThan(MIN_DROP_MIB * 1024L);
      assertThat(client.describeBalloonConfig().amountMib()).isEqualTo(BALLOON_MIB);
      // The guest reports its memory statistics every second (stats_polling_interval_s).
      assertThat(awaitGuestStats(client, Duration.ofMinutes(2)).totalMemory())
          .as("total_memory from the guest\n%s", kiln.transcript())
          .isPositive();
      client.sendCtrlAltDel();
      BootResult result = kiln.awaitExit();
      assertThat(result.exitStatus()).as(kiln.transcript()).isZero();
    }
  }

  private static BalloonStats awaitInflated(KilnClient client, Duration timeout)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    BalloonStats stats = client.describeBalloonStats();
    while (stats.actualMib() < BALLOON_MIB && System.nanoTime() < deadline) {
      Thread.sleep(500);
      stats = client.describeBalloonStats();
    }
    return stats;
  }

  private static BalloonStats awaitGuestStats(KilnClient client, Duration timeout)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    BalloonStats stats = client.describeBalloonStats();
    while (stats.totalMemory() == null && System.nanoTime() < deadline) {
      Thread.sleep(500);
      stats = client.describeBalloonStats();
    }
    return stats;
  }

  /** Returns VmRSS of process {@code pid} in KiB. */
  private static long residentKib(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IOException("no VmRSS line in /proc/" + pid + "/status");
  }
}
