package dev.kiln.cli.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Boots the pvh-info guest through the PVH entry and checks the 32-bit entry state and the struct
 * hvm_start_info that Kiln prepared (xen/include/public/arch-x86/hvm/start_info.h, version 1).
 */
class PvhInfoIT {
  private static final Pattern MEMMAP =
      Pattern.compile("memmap (0x\\p{XDigit}+) (0x\\p{XDigit}+) (\\d+)");
  private static final int MEMMAP_RAM = 1;
  private static final long CR0_PE = 1L;
  private static final long CR0_PG = 1L << 31;
  private static final long EFLAGS_IF = 1L << 9;
  private static final String INITRD_HEAD = "KILNPVH1";
  private static final int INITRD_SIZE = 4099;

  @BeforeAll
  static void requireKvm() {
    TestGuests.assumeHostCanBoot();
  }

  @Test
  void startInfoMatchesConfig(@TempDir Path directory) throws Exception {
    Path guest = TestGuests.guest("pvh-info");
    Path initrd = TestGuests.writeInitrd(directory, INITRD_HEAD, INITRD_SIZE);

    BootResult result;
    try (KilnProcess kiln = KilnProcess.boot(directory, guest, 1, initrd)) {
      result = kiln.awaitExit();
    }

    String transcript = result.transcript();
    assertThat(result.exitStatus()).as("Kiln's exit status%n%s", transcript).isZero();
    List<String> lines = result.guestLines();
    assertThat(lines).as("guest output%n%s", transcript).contains("done");

    // 32-bit entry state.
    Matcher ebx = result.requireGuestLine(Pattern.compile("ebx=(0x\\p{XDigit}+)"));
    assertThat(BootResult.hex(ebx.group(1))).as("EBX at entry%n%s", transcript).isNotZero();
    long cr0 =
        BootResult.hex(result.requireGuestLine(Pattern.compile("cr0=(0x\\p{XDigit}+)")).group(1));
    assertThat(cr0 & CR0_PE).as("CR0.PE at entry%n%s", transcript).isEqualTo(CR0_PE);
    assertThat(cr0 & CR0_PG).as("CR0.PG at entry%n%s", transcript).isZero();
    assertThat(lines).as("paging at entry%n%s", transcript).contains("paging=off");
    long eflags =
        BootResult.hex(
            result.requireGuestLine(Pattern.compile("eflags=(0x\\p{XDigit}+)")).group(1));
    assertThat(eflags & EFLAGS_IF).as("EFLAGS.IF at entry%n%s", transcript).isZero();

    // struct hvm_start_info.
    assertThat(lines).as("start info magic%n%s", transcript).contains("magic=0x336ec578");
    assertThat(lines).as("start info version%n%s", transcript).contains("version=1");
    assertThat(lines).as("nr_modules%n%s", transcript).contains("nr_modules=1");

    Matcher module =
        result.requireGuestLine(
            Pattern.compile("module0 paddr=(0x\\p{XDigit}+) size=(0x\\p{XDigit}+)"));
    assertThat(BootResult.hex(module.group(1))).as("module 0 paddr%n%s", transcript).isNotZero();
    assertThat(BootResult.hex(module.group(2)))
        .as("module 0 size against the initrd file%n%s", transcript)
        .isEqualTo(Files.size(initrd));
    assertThat(lines)
        .as("first bytes of module 0%n%s", transcript)
        .contains("module0 head=" + INITRD_HEAD);

    Matcher cmdline = result.requireGuestLine(Pattern.compile("cmdline=(.*)"));
    assertThat(cmdline.group(1)).as("command line%n%s", transcript).contains(KilnProcess.BOOT_ARGS);

    // Memory map: conventional memory at 0 and RAM from 1 MiB to the end of guest memory.
    List<Matcher> memmap = result.findGuestLines(MEMMAP);
    assertThat(memmap)
        .as("memmap RAM entry at 0%n%s", transcript)
        .anySatisfy(
            entry -> {
              assertThat(BootResult.hex(entry.group(1))).isZero();
              assertThat(BootResult.hex(entry.group(2))).isPositive().isLessThanOrEqualTo(0x9fc00);
              assertThat(Integer.parseInt(entry.group(3))).isEqualTo(MEMMAP_RAM);
            });
    assertThat(memmap)
        .as(
            "memmap RAM entry from 0x100000 to the end of the %d MiB%n%s",
            KilnProcess.MEMORY_MIB, transcript)
        .anySatisfy(
            entry -> {
              long start = BootResult.hex(entry.group(1));
              assertThat(start).isEqualTo(0x100000);
              assertThat(start + BootResult.hex(entry.group(2)))
                  .isEqualTo(KilnProcess.MEMORY_MIB * 1024L * 1024L);
              assertThat(Integer.parseInt(entry.group(3))).isEqualTo(MEMMAP_RAM);
            });
    Matcher memmapCount =
        result.requireGuestLine(
            Pattern.compile("memmap_paddr=0x\\p{XDigit}+ memmap_entries=(\\d+)"));
    assertThat(Integer.parseInt(memmapCount.group(1)))
        .as("memmap_entries against the entries printed%n%s", transcript)
        .isEqualTo(memmap.size());
  }
}
