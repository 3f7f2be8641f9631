package dev.kiln.cli.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Boots the smp guest (PVH), which checks Kiln's MP table and starts every application processor
 * with INIT and two SIPIs. Each CPU then reports its APIC ids.
 */
class SmpIT {
  private static final Pattern CPU_UP =
      Pattern.compile("cpu up apic=(\\d+) x2apic=(-?\\d+) bsp=([01])");
  private static final Pattern MPTABLE_CPU =
      Pattern.compile("mptable cpu apic=(\\d+) flags=(0x\\p{XDigit}+)");
  private static final Pattern MPTABLE_ENTRIES =
      Pattern.compile("mptable entries_walked=(\\d+) entry_count=(\\d+)");
  private static final Pattern MPCONFIG_LAPIC =
      Pattern.compile("mpconfig .* lapic=(0x\\p{XDigit}+)");
  private static final int CPU_ENABLED = 0x1;
  private static final int CPU_BSP = 0x2;

  @BeforeAll
  static void requireKvm() {
    TestGuests.assumeHostCanBoot();
  }

  @ParameterizedTest(name = "{0} vCPUs")
  @ValueSource(ints = {2, 4})
  void allCpusStart(int vcpuCount, @TempDir Path directory) throws Exception {
    Path guest = TestGuests.guest("smp");

    BootResult result;
    try (KilnProcess kiln = KilnProcess.boot(directory, guest, vcpuCount, null)) {
      result = kiln.awaitExit();
    }

    String transcript = result.transcript();
    assertThat(result.exitStatus()).as("Kiln's exit status%n%s", transcript).isZero();
    List<String> lines = result.guestLines();

    // The MP table.
    assertThat(lines)
        .as("MP table processor count and checksums%n%s", transcript)
        .contains("mptable cpus=" + vcpuCount + " checksum=ok");
    Matcher entries = result.requireGuestLine(MPTABLE_ENTRIES);
    assertThat(entries.group(1))
        .as("MP table entries walked against its entry count%n%s", transcript)
        .isEqualTo(entries.group(2));
    assertThat(result.requireGuestLine(MPCONFIG_LAPIC).group(1))
        .as("local APIC address in the MP table%n%s", transcript)
        .isEqualTo("0xfee00000");
    List<Matcher> tableCpus = result.findGuestLines(MPTABLE_CPU);
    assertThat(tableCpus.stream().map(cpu -> Integer.parseInt(cpu.group(1))).toList())
        .as("APIC ids of the MP table's processor entries%n%s", transcript)
        .containsExactlyElementsOf(IntStream.range(0, vcpuCount).boxed().toList());
    for (Matcher cpu : tableCpus) {
      int flags = (int) BootResult.hex(cpu.group(2));
      int expected = cpu.group(1).equals("0") ? CPU_ENABLED | CPU_BSP : CPU_ENABLED;
      assertThat(flags)
          .as("MP table flags of the CPU with APIC id %s%n%s", cpu.group(1), transcript)
          .isEqualTo(expected);
    }

    // Every CPU came up and reported distinct APIC ids 0..N-1.
    assertThat(lines).as("all CPUs up%n%s", transcript).contains("all " + vcpuCount + " cpus up");
    List<Matcher> cpusUp = result.findGuestLines(CPU_UP);
    assertThat(cpusUp).as("cpu up lines%n%s", transcript).hasSize(vcpuCount);
    Set<Integer> apicIds =
        cpusUp.stream()
            .map(cpu -> Integer.parseInt(cpu.group(1)))
            .collect(Collectors.toCollection(TreeSet::new));
    assertThat(apicIds)
        .as("initial APIC ids from CPUID leaf 1%n%s", transcript)
        .containsExactlyElementsOf(IntStream.range(0, vcpuCount).boxed().toList());
    for (Matcher cpu : cpusUp) {
      assertThat(cpu.group(3))
          .as("BSP flag in IA32_APIC_BASE of the CPU with APIC id %s%n%s", cpu.group(1), transcript)
          .isEqualTo(cpu.group(1).equals("0") ? "1" : "0");
      if (!cpu.group(2).equals("-1")) {
        assertThat(cpu.group(2))
            .as("x2APIC id from CPUID leaf 0xb against the APIC id%n%s", transcript)
            .isEqualTo(cpu.group(1));
      }
    }
  }
}
