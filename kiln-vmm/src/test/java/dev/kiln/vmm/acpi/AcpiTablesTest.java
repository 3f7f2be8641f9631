package dev.kiln.vmm.acpi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.vmm.arch.x86_64.Layout;
import dev.kiln.vmm.arch.x86_64.MpTable;
import dev.kiln.vmm.devices.virtio.VirtioSlots;
import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.memory.GuestRegion;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The tables as a guest reads them: signatures, lengths, checksums, fields and pointers. */
class AcpiTablesTest {
  private static final List<VirtioMmioResource> TWO_DEVICES = VirtioSlots.resources(2);

  private static int sum(byte[] bytes, int from, int length) {
    int sum = 0;
    for (int i = from; i < from + length; i++) {
      sum += bytes[i];
    }
    return sum & 0xff;
  }

  private static ByteBuffer le(byte[] bytes) {
    return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
  }

  private static String ascii(byte[] bytes, int from, int length) {
    return new String(bytes, from, length, StandardCharsets.US_ASCII);
  }

  private static int count(byte[] haystack, byte[] needle) {
    int count = 0;
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      boolean match = true;
      for (int j = 0; j < needle.length && match; j++) {
        match = haystack[i + j] == needle[j];
      }
      if (match) {
        count++;
      }
    }
    return count;
  }

  private static void assertTableHeader(byte[] table, String signature, int revision) {
    assertThat(ascii(table, 0, 4)).as("signature").isEqualTo(signature);
    assertThat(le(table).getInt(4)).as("%s length", signature).isEqualTo(table.length);
    assertThat(table[8]).as("%s revision", signature).isEqualTo((byte) revision);
    assertThat(sum(table, 0, table.length)).as("%s checksum", signature).isZero();
    assertThat(ascii(table, 10, 6)).as("OEMID").isEqualTo("KILN  ");
  }

  @Test
  void rsdpHasBothChecksumsAndXsdtAddress() {
    AcpiTables tables = AcpiTables.build(2, TWO_DEVICES);
    byte[] rsdp = tables.rsdp();

    assertThat(rsdp).hasSize(36);
    assertThat(ascii(rsdp, 0, 8)).isEqualTo("RSD PTR ");
    assertThat(sum(rsdp, 0, 20)).as("ACPI 1.0 checksum").isZero();
    assertThat(sum(rsdp, 0, 36)).as("extended checksum").isZero();
    assertThat(rsdp[15]).as("revision").isEqualTo((byte) 2);
    assertThat(le(rsdp).getInt(16)).as("RsdtAddress").isZero();
    assertThat(le(rsdp).getInt(20)).as("length").isEqualTo(36);
    assertThat(le(rsdp).getLong(24)).isEqualTo(tables.table("XSDT").address());
    assertThat(tables.rsdpAddress()).isEqualTo(0xe0000);
    assertThat(tables.rsdpAddress() % 16).as("16-byte boundary for the legacy scan").isZero();
  }

  @Test
  void xsdtListsFadtAndMadt() {
    AcpiTables tables = AcpiTables.build(2, TWO_DEVICES);
    byte[] xsdt = tables.table("XSDT").bytes();

    assertTableHeader(xsdt, "XSDT", 1);
    assertThat(xsdt).hasSize(36 + 16);
    assertThat(le(xsdt).getLong(36)).isEqualTo(tables.table("FACP").address());
    assertThat(le(xsdt).getLong(44)).isEqualTo(tables.table("APIC").address());
  }

  @Test
  void fadtIsHardwareReducedAndPointsAtDsdt() {
    AcpiTables tables = AcpiTables.build(2, TWO_DEVICES);
    byte[] fadt = tables.table("FACP").bytes();

    assertTableHeader(fadt, "FACP", 6);
    assertThat(fadt).hasSize(276);
    assertThat(fadt[131]).as("minor revision").isEqualTo((byte) 5);
    int flags = le(fadt).getInt(112);
    assertThat(flags & (1 << 20)).as("HW_REDUCED_ACPI").isNotZero();
    assertThat(flags & (1 << 4)).as("PWR_BUTTON").isNotZero();
    assertThat(flags & (1 << 5)).as("SLP_BUTTON").isNotZero();
    int bootArch = le(fadt).getShort(109) & 0xffff;
    assertThat(bootArch & (1 << 1)).as("8042").isNotZero();
    assertThat(bootArch & (1 << 2)).as("VGA not present").isNotZero();
    assertThat(bootArch & (1 << 3)).as("MSI not supported").isNotZero();
    assertThat(bootArch & (1 << 4)).as("PCIe ASPM controls").isNotZero();
    assertThat(bootArch & (1 << 5)).as("CMOS RTC not present: Kiln has one").isZero();
    assertThat(le(fadt).getLong(140)).as("X_DSDT").isEqualTo(tables.table("DSDT").address());
    assertThat(le(fadt).getInt(40)).as("DSDT, unused when X_DSDT is set").isZero();
    assertThat(le(fadt).getShort(46)).as("SCI_INT").isZero();
    assertThat(ascii(fadt, 268, 8)).as("hypervisor vendor").isEqualTo("KILNVMM ");
  }

  @Test
  void madtHasOneLocalApicPerCpuAndTheIoApic() {
    AcpiTables tables = AcpiTables.build(3, TWO_DEVICES);
    byte[] madt = tables.table("APIC").bytes();

    assertTableHeader(madt, "APIC", 6);
    assertThat(madt).hasSize(44 + 12 + 3 * 8);
    assertThat(le(madt).getInt(36)).as("local APIC address").isEqualTo((int) Layout.APIC_START);
    int at = 44;
    int localApics = 0;
    int ioApics = 0;
    while (at < madt.length) {
      int type = madt[at] & 0xff;
      int length = madt[at + 1] & 0xff;
      if (type == 0) {
        assertThat(length).isEqualTo(8);
        assertThat(madt[at + 2] & 0xff).as("processor UID").isEqualTo(localApics);
        assertThat(madt[at + 3] & 0xff).as("APIC ID").isEqualTo(localApics);
        assertThat(le(madt).getInt(at + 4)).as("enabled").isEqualTo(1);
        localApics++;
      } else if (type == 1) {
        assertThat(length).isEqualTo(12);
        assertThat(madt[at + 2] & 0xff).as("IOAPIC ID").isEqualTo(MpTable.ioApicId(3));
        assertThat(le(madt).getInt(at + 4)).isEqualTo((int) Layout.IOAPIC_START);
        assertThat(le(madt).getInt(at + 8)).as("GSI base").isZero();
        ioApics++;
      }
      at += length;
    }
    assertThat(at).isEqualTo(madt.length);
    assertThat(localApics).isEqualTo(3);
    assertThat(ioApics).isEqualTo(1);
  }

  @Test
  void madtRejectsInvalidCpuCount() {
    assertThatThrownBy(() -> Madt.build(0, 0, 0, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0");
    assertThatThrownBy(() -> Madt.build(256, 0, 0, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("256");
  }

  @Test
  void dsdtDescribesEachVirtioDevice() {
    byte[] dsdt = AcpiTables.build(1, VirtioSlots.resources(3)).table("DSDT").bytes();

    assertTableHeader(dsdt, "DSDT", 2);
    assertThat(count(dsdt, Aml.string("LNRO0005"))).isEqualTo(3);
    for (int i = 0; i < 3; i++) {
      byte[] window =
          new ResourceTemplate()
              .memory32Fixed(true, VirtioSlots.address(i), Layout.MMIO_SLOT_SIZE)
              .extendedInterrupt(
                  ResourceTemplate.Trigger.EDGE,
                  ResourceTemplate.Polarity.ACTIVE_HIGH,
                  VirtioSlots.FIRST_IRQ + i)
              .descriptorBytes();
      assertThat(count(dsdt, window)).as("resources of device %d", i).isEqualTo(1);
      assertThat(count(dsdt, ("V00" + i).getBytes(StandardCharsets.US_ASCII))).isEqualTo(1);
    }
    assertThat(count(dsdt, Aml.eisaId("PNP0303"))).as("i8042").isEqualTo(1);
    assertThat(count(dsdt, Aml.eisaId("PNP0501"))).as("COM1").isEqualTo(1);
  }

  @Test
  void dsdtWithoutVirtioDevicesStillHasLegacyDevices() {
    byte[] dsdt = AcpiTables.build(1, List.of()).table("DSDT").bytes();

    assertTableHeader(dsdt, "DSDT", 2);
    assertThat(count(dsdt, Aml.string("LNRO0005"))).isZero();
    assertThat(count(dsdt, Aml.eisaId("PNP0303"))).isEqualTo(1);
  }

  @Test
  void tablesFitBetweenRsdpAndOneMib() {
    AcpiTables tables = AcpiTables.build(Madt.MAX_CPUS - 1, VirtioSlots.resources(19));

    long previousEnd = Layout.ACPI_RSDP_START + Rsdp.SIZE;
    for (String signature : List.of("DSDT", "FACP", "APIC", "XSDT")) {
      AcpiTables.PlacedTable table = tables.table(signature);
      assertThat(table.address()).as("%s start", signature).isGreaterThanOrEqualTo(previousEnd);
      assertThat(table.address() % 8).as("%s alignment", signature).isZero();
      previousEnd = table.address() + table.bytes().length;
    }
    assertThat(previousEnd).isLessThanOrEqualTo(Layout.HIMEM_START);
  }

  @Test
  void mpTableEndsBeforeAcpiArea() {
    long mpTableEnd = Layout.MPTABLE_START + MpTable.size(MpTable.MAX_CPUS);

    assertThat(mpTableEnd).isLessThanOrEqualTo(Layout.ACPI_RSDP_START);
  }

  @Test
  void writeToPutsTablesInGuestMemory() {
    GuestMemory memory =
        new GuestMemory(List.of(new GuestRegion(0, Arena.ofAuto().allocate(0x100000, 4096))));
    AcpiTables tables = AcpiTables.build(2, TWO_DEVICES);

    tables.writeTo(memory);

    assertThat(memory.read(0xe0000, 36)).containsExactly(tables.rsdp());
    for (AcpiTables.PlacedTable table : tables.tables().values()) {
      assertThat(memory.read(table.address(), table.bytes().length)).containsExactly(table.bytes());
    }
  }

  @Test
  void unknownTableIsAnError() {
    assertThatThrownBy(() -> AcpiTables.build(1, List.of()).table("SSDT"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("SSDT");
  }
}
