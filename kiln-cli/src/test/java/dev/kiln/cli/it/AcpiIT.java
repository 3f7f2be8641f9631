package dev.kiln.cli.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Boots the default guest on 2 vCPUs with a drive and the entropy device, once with {@code
 * acpi=off} and once with ACPI, and checks that the guest finds its CPUs, both virtio devices (each
 * exactly once) and the i8042 keyboard controller either way: through the MP table and the command
 * line, or through the MADT and the DSDT.
 */
class AcpiIT {
  private static final Duration BOOT_TIMEOUT = Duration.ofMinutes(10);
  // No "quiet", so the kernel log shows how the i8042 and the virtio devices were found.
  private static final String BOOT_ARGS = "console=ttyS0 reboot=k panic=1 pci=off";
  // With ACPI, Linux maps the keyboard's GSI 1 to an IRQ number of its own choosing.
  private static final String I8042_FOUND = "serio: i8042 KBD port at 0x60,0x64 irq ";

  @TempDir Path directory;

  @BeforeAll
  static void requireGuest() {
    DefaultGuestIT.requireGuest();
  }

  private BootResult boot(String bootArgs) throws IOException, InterruptedException {
    Path guest = DefaultGuestIT.guestDirectory();
    Path data = directory.resolve("data.img");
    Files.write(data, new byte[1 << 20]);
    String json =
        """
        {
          "boot-source": {
            "kernel_image_path": "%s",
            "initrd_path": "%s",
            "boot_args": "%s"
          },
          "drives": [
            {"drive_id": "data", "path_on_host": "%s", "is_root_device": false,
             "is_read_only": true}
          ],
          "entropy": {},
          "machine-config": {"vcpu_count": 2, "mem_size_mib": 256}
        }
        """
            .formatted(
                guest.resolve("bzImage"), guest.resolve("initramfs.cpio.gz"), bootArgs, data);
    Path config = directory.resolve("vm.json");
    Files.writeString(config, json, StandardCharsets.UTF_8);
    try (KilnProcess kiln =
        KilnProcess.start(directory, "--no-api", "--config-file", config.toString())) {
      return kiln.awaitExit(BOOT_TIMEOUT);
    }
  }

  private static void assertCommonChecks(BootResult result, String all) {
    assertThat(result.exitStatus()).as(all).isZero();
    assertThat(result.stdout()).as(all).contains("kiln-guest: cpus=2");
    assertThat(result.stdout()).as(all).contains("kiln-guest: block=vda");
    assertThat(result.stdout())
        .as(all)
        .anyMatch(line -> line.matches("kiln-guest: hwrng=[0-9a-f]{32}"));
    assertThat(result.stdout()).as(all).anyMatch(line -> line.contains(I8042_FOUND));
    // A device declared twice fails to claim its window the second time.
    assertThat(result.stdout())
        .as(all)
        .noneMatch(line -> line.contains("failed to claim resource"));
    assertThat(result.stderr()).as(all).contains("guest reset through the i8042");
  }

  @Test
  void acpiOffUsesMpTableAndCommandLine() throws Exception {
    BootResult result = boot(BOOT_ARGS + " acpi=off");
    String all = BootResult.transcript(result.stdout(), result.stderr());

    assertCommonChecks(result, all);
    assertThat(result.stdout()).as(all).contains("kiln-guest: acpi=no");
    assertThat(result.stdout())
        .as(all)
        .contains("kiln-guest: virtio-mmio=virtio-mmio.0 virtio-mmio.1");
    assertThat(result.stdout())
        .as(all)
        .anyMatch(
            line ->
                line.startsWith("kiln-guest: cmdline=")
                    && line.contains("virtio_mmio.device=4K@0xd0001000:5")
                    && line.contains("virtio_mmio.device=4K@0xd0002000:6"));
  }

  @Test
  void acpiFindsDevicesInDsdt() throws Exception {
    BootResult result = boot(BOOT_ARGS);
    String all = BootResult.transcript(result.stdout(), result.stderr());

    assertCommonChecks(result, all);
    assertThat(result.stdout()).as(all).contains("kiln-guest: acpi=yes");
    assertThat(result.stdout()).as(all).contains("kiln-guest: virtio-mmio=LNRO0005:00 LNRO0005:01");
    assertThat(result.stdout())
        .as(all)
        .anyMatch(line -> line.startsWith("kiln-guest: cmdline=") && !line.contains("virtio_mmio"));
    assertThat(result.stdout())
        .as(all)
        .anyMatch(line -> line.contains("ACPI: Using ACPI (MADT) for SMP configuration"));
  }
}
