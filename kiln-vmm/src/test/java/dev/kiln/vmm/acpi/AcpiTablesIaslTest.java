package dev.kiln.vmm.acpi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.vmm.devices.virtio.VirtioSlots;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Disassembles the generated tables with iasl from ACPICA (Debian package acpica-tools), an
 * independent reader of the ACPI formats. iasl 20200925 cannot disassemble an RSDP, even one it
 * compiled itself, so {@link AcpiTablesTest} alone covers the RSDP.
 */
class AcpiTablesIaslTest {
  private static final int CPUS = 2;
  private static final int DEVICES = 3;

  @TempDir Path directory;

  @BeforeAll
  static void requireIasl() {
    boolean found = findOnPath("iasl") != null;
    if (System.getenv("CI") != null) {
      assertThat(found).as("CI must install iasl (scripts/install-deps.sh)").isTrue();
    }
    assumeTrue(found, "iasl is not installed; apt-get install acpica-tools");
  }

  private static Path findOnPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    for (String entry : path.split(File.pathSeparator)) {
      Path candidate = Path.of(entry, program);
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    return null;
  }

  /** Writes {@code signature}'s table to a file, disassembles it and returns the ASL text. */
  private String disassemble(AcpiTables tables, String signature)
      throws IOException, InterruptedException {
    String base = signature.toLowerCase();
    Path table = directory.resolve(base + ".dat");
    Files.write(table, tables.table(signature).bytes());
    Process iasl =
        new ProcessBuilder("iasl", "-d", table.getFileName().toString())
            .directory(directory.toFile())
            .redirectErrorStream(true)
            .start();
    String output = new String(iasl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(iasl.waitFor(60, TimeUnit.SECONDS)).as("iasl finished").isTrue();
    assertThat(iasl.exitValue()).as("iasl exit status%n%s", output).isZero();
    assertThat(output).as("iasl output").doesNotContainIgnoringCase("error");
    assertThat(output).as("iasl output").doesNotContainIgnoringCase("warning");
    Path asl = directory.resolve(base + ".dsl");
    assertThat(asl).as("iasl output file%n%s", output).isRegularFile();
    return Files.readString(asl, StandardCharsets.UTF_8);
  }

  private static int count(String text, Pattern pattern) {
    Matcher matcher = pattern.matcher(text);
    int count = 0;
    while (matcher.find()) {
      count++;
    }
    return count;
  }

  @Test
  void dsdtDisassemblesToVirtioDevices() throws Exception {
    AcpiTables tables = AcpiTables.build(CPUS, VirtioSlots.resources(DEVICES));

    String asl = disassemble(tables, "DSDT");

    assertThat(count(asl, Pattern.compile("Name \\(_HID, \"LNRO0005\"\\)"))).isEqualTo(DEVICES);
    for (int i = 0; i < DEVICES; i++) {
      Pattern device =
          Pattern.compile(
              String.format(
                  "Device \\(V%03d\\)\\s*\\{\\s*Name \\(_HID, \"LNRO0005\"\\).*?"
                      + "Memory32Fixed \\(ReadWrite,\\s*0x%08X,\\s*// Address Base\\s*"
                      + "0x00001000,\\s*// Address Length.*?"
                      + "Interrupt \\(ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, \\)\\s*"
                      + "\\{\\s*0x%08X,",
                  i, VirtioSlots.address(i), VirtioSlots.FIRST_IRQ + i),
              Pattern.DOTALL);
      assertThat(count(asl, device)).as("device V%03d%n%s", i, asl).isEqualTo(1);
    }
  }

  @Test
  void dsdtDisassemblesToLegacyDevices() throws Exception {
    String asl = disassemble(AcpiTables.build(CPUS, VirtioSlots.resources(1)), "DSDT");

    assertThat(asl).contains("EisaId (\"PNP0303\")");
    assertThat(asl).contains("EisaId (\"PNP0501\")");
    assertThat(asl).containsPattern("IO \\(Decode16,\\s*0x0060,\\s*// Range Minimum");
    assertThat(asl).containsPattern("IO \\(Decode16,\\s*0x0064,\\s*// Range Minimum");
    assertThat(asl).containsPattern("IO \\(Decode16,\\s*0x03F8,\\s*// Range Minimum");
    assertThat(asl).containsPattern("Method \\(_STA, 0, NotSerialized\\)[^}]*Return \\(0x0F\\)");
  }

  @Test
  void madtDisassemblesToOneLocalApicPerCpu() throws Exception {
    for (int cpus : new int[] {1, 2, 7}) {
      String asl = disassemble(AcpiTables.build(cpus, VirtioSlots.resources(1)), "APIC");

      assertThat(count(asl, Pattern.compile("Subtable Type : 00 \\[Processor Local APIC\\]")))
          .as("local APICs for %d vCPUs", cpus)
          .isEqualTo(cpus);
      assertThat(count(asl, Pattern.compile("Subtable Type : 01 \\[I/O APIC\\]"))).isEqualTo(1);
      assertThat(asl).containsPattern("Address : FEC00000");
    }
  }

  @Test
  void fadtDisassemblesAsHardwareReduced() throws Exception {
    String asl = disassemble(AcpiTables.build(CPUS, VirtioSlots.resources(1)), "FACP");

    assertThat(asl).containsPattern("Hardware Reduced \\(V5\\) : 1");
    assertThat(asl).containsPattern("8042 Present on ports 60/64 \\(V2\\) : 1");
    assertThat(asl).containsPattern("VGA Not Present \\(V4\\) : 1");
    assertThat(asl).containsPattern("CMOS RTC Not Present \\(V5\\) : 0");
  }

  @Test
  void xsdtDisassemblesToTwoTables() throws Exception {
    AcpiTables tables = AcpiTables.build(CPUS, VirtioSlots.resources(1));

    String asl = disassemble(tables, "XSDT");

    assertThat(asl)
        .containsPattern(
            String.format("ACPI Table Address   0 : %016X", tables.table("FACP").address()));
    assertThat(asl)
        .containsPattern(
            String.format("ACPI Table Address   1 : %016X", tables.table("APIC").address()));
  }
}
