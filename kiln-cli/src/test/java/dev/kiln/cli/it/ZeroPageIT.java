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
 * Boots the zeropage guest with the Linux 64-bit boot protocol and checks the entry state and the
 * struct boot_params that Kiln prepared (Documentation/arch/x86/zero-page.rst and boot.rst).
 */
class ZeroPageIT {
  private static final Pattern E820 =
      Pattern.compile("e820 (0x\\p{XDigit}+) (0x\\p{XDigit}+) (\\d+)");
  private static final int E820_RAM = 1;
  private static final long RFLAGS_IF = 1L << 9;
  private static final String INITRD_HEAD = "KILNZPG1";
  private static final int INITRD_SIZE = 5003;

  @BeforeAll
  static void requireKvm() {
    TestGuests.assumeHostCanBoot();
  }

  @Test
  void zeroPageMatchesConfig(@TempDir Path directory) throws Exception {
    Path guest = TestGuests.guest("zeropage");
    Path initrd = TestGuests.writeInitrd(directory, INITRD_HEAD, INITRD_SIZE);

    BootResult result;
    try (KilnProcess kiln = KilnProcess.boot(directory, guest, 1, initrd)) {
      result = kiln.awaitExit();
    }

    String transcript = result.transcript();
    assertThat(result.exitStatus()).as("Kiln's exit status%n%s", transcript).isZero();
    List<String> lines = result.guestLines();
    assertThat(lines).as("guest output%n%s", transcript).contains("done");

    // Entry state of the 64-bit boot protocol.
    assertThat(lines).as("boot_params address%n%s", transcript).contains("rsi=0x7000");
    Matcher stack =
        result.requireGuestLine(Pattern.compile("rsp=(0x\\p{XDigit}+) rflags=(0x\\p{XDigit}+)"));
    assertThat(stack.group(1)).as("entry stack pointer%n%s", transcript).isEqualTo("0x8ff0");
    assertThat(BootResult.hex(stack.group(2)) & RFLAGS_IF)
        .as("RFLAGS.IF at entry%n%s", transcript)
        .isZero();
    assertThat(lines)
        .as("segment selectors at entry%n%s", transcript)
        .contains("cs=0x8 ds=0x10 es=0x10 ss=0x10");

    // Setup header fields.
    assertThat(lines).as("boot_flag%n%s", transcript).contains("boot_flag=0xaa55");
    assertThat(lines).as("header magic HdrS%n%s", transcript).contains("header=0x53726448");
    assertThat(lines).as("type_of_loader%n%s", transcript).contains("type_of_loader=0xff");

    Matcher cmdline = result.requireGuestLine(Pattern.compile("cmdline=(.*)"));
    assertThat(cmdline.group(1)).as("command line%n%s", transcript).contains(KilnProcess.BOOT_ARGS);

    Matcher ramdisk =
        result.requireGuestLine(
            Pattern.compile("ramdisk_image=(0x\\p{XDigit}+) ramdisk_size=(0x\\p{XDigit}+)"));
    assertThat(BootResult.hex(ramdisk.group(1))).as("ramdisk_image%n%s", transcript).isNotZero();
    assertThat(BootResult.hex(ramdisk.group(2)))
        .as("ramdisk_size%n%s", transcript)
        .isEqualTo(Files.size(initrd));
    assertThat(lines)
        .as("first bytes of the ramdisk%n%s", transcript)
        .contains("ramdisk_head=" + INITRD_HEAD);

    // e820: conventional memory below the EBDA, and RAM from 1 MiB to the end of guest memory.
    List<Matcher> e820 = result.findGuestLines(E820);
    assertThat(e820)
        .as("e820 RAM entry at 0 that ends at or below the EBDA (0x9fc00)%n%s", transcript)
        .anySatisfy(
            entry -> {
              assertThat(BootResult.hex(entry.group(1))).isZero();
              assertThat(BootResult.hex(entry.group(2))).isPositive().isLessThanOrEqualTo(0x9fc00);
              assertThat(Integer.parseInt(entry.group(3))).isEqualTo(E820_RAM);
            });
    assertThat(e820)
        .as(
            "e820 RAM entry from 0x100000 to the end of the %d MiB%n%s",
            KilnProcess.MEMORY_MIB, transcript)
        .anySatisfy(
            entry -> {
              long start = BootResult.hex(entry.group(1));
              assertThat(start).isEqualTo(0x100000);
              assertThat(start + BootResult.hex(entry.group(2)))
                  .isEqualTo(KilnProcess.MEMORY_MIB * 1024L * 1024L);
              assertThat(Integer.parseInt(entry.group(3))).isEqualTo(E820_RAM);
            });
    Matcher e820Count = result.requireGuestLine(Pattern.compile("e820_entries=(\\d+)"));
    assertThat(Integer.parseInt(e820Count.group(1)))
        .as("e820_entries against the entries printed%n%s", transcript)
        .isEqualTo(e820.size());

    // Kiln passes a random seed as SETUP_RNG_SEED (type 9) in the setup_data list.
    assertThat(lines)
        .as("setup_data random seed%n%s", transcript)
        .contains("setup_data type=9 len=32 nonzero=1");
  }
}
