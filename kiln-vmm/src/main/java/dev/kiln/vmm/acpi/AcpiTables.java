package dev.kiln.vmm.acpi;

import dev.kiln.vmm.arch.x86_64.Layout;
import dev.kiln.vmm.arch.x86_64.MpTable;
import dev.kiln.vmm.memory.GuestMemory;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The ACPI tables of one x86_64 machine, laid out for guest memory: the RSDP at {@link
 * Layout#ACPI_RSDP_START}, and the DSDT, FADT, MADT and XSDT one after another from {@link
 * Layout#ACPI_TABLES_START}, each on an 8-byte boundary. The XSDT lists the FADT and the MADT, and
 * the FADT points at the DSDT.
 */
public final class AcpiTables {
  static final int TABLE_ALIGNMENT = 8;

  private final byte[] rsdp;
  private final Map<String, PlacedTable> tables;

  /** One table and the guest-physical address it goes to. */
  public record PlacedTable(long address, byte[] bytes) {}

  private AcpiTables(byte[] rsdp, Map<String, PlacedTable> tables) {
    this.rsdp = rsdp;
    this.tables = tables;
  }

  /**
   * Builds the tables for a machine with {@code cpuCount} vCPUs and the given virtio-mmio devices.
   *
   * @throws IllegalArgumentException when {@code cpuCount} or the device count is out of the
   *     tables' range, or the tables do not fit below {@link Layout#HIMEM_START}
   */
  public static AcpiTables build(int cpuCount, List<VirtioMmioResource> virtioDevices) {
    Map<String, PlacedTable> tables = new LinkedHashMap<>();
    long next = Layout.ACPI_TABLES_START;

    byte[] dsdt = Dsdt.build(virtioDevices);
    long dsdtAddress = next;
    tables.put("DSDT", new PlacedTable(dsdtAddress, dsdt));
    next = align(dsdtAddress + dsdt.length);

    byte[] fadt = Fadt.build(dsdtAddress);
    long fadtAddress = next;
    tables.put("FACP", new PlacedTable(fadtAddress, fadt));
    next = align(fadtAddress + fadt.length);

    byte[] madt =
        Madt.build(cpuCount, Layout.APIC_START, MpTable.ioApicId(cpuCount), Layout.IOAPIC_START);
    long madtAddress = next;
    tables.put("APIC", new PlacedTable(madtAddress, madt));
    next = align(madtAddress + madt.length);

    byte[] xsdt = Xsdt.build(List.of(fadtAddress, madtAddress));
    long xsdtAddress = next;
    tables.put("XSDT", new PlacedTable(xsdtAddress, xsdt));
    long end = xsdtAddress + xsdt.length;
    if (end > Layout.HIMEM_START) {
      throw new IllegalArgumentException(
          String.format(
              "the ACPI tables for %d vCPUs and %d virtio devices end at 0x%x, past 0x%x;"
                  + " use fewer vCPUs or devices",
              cpuCount, virtioDevices.size(), end, Layout.HIMEM_START));
    }
    return new AcpiTables(Rsdp.build(xsdtAddress), tables);
  }

  /** Returns the guest-physical address of the RSDP, for boot_params and hvm_start_info. */
  public long rsdpAddress() {
    return Layout.ACPI_RSDP_START;
  }

  /** Returns the RSDP's bytes. */
  public byte[] rsdp() {
    return rsdp.clone();
  }

  /** Returns the tables by signature (DSDT, FACP, APIC, XSDT), in address order. */
  public Map<String, PlacedTable> tables() {
    return Collections.unmodifiableMap(tables);
  }

  /** Returns the table with {@code signature}, or throws when there is none. */
  public PlacedTable table(String signature) {
    PlacedTable table = tables.get(signature);
    if (table == null) {
      throw new IllegalArgumentException(
          "no ACPI table " + signature + "; Kiln builds " + new ArrayList<>(tables.keySet()));
    }
    return table;
  }

  /** Writes the RSDP and every table to guest memory. */
  public void writeTo(GuestMemory memory) {
    memory.write(Layout.ACPI_RSDP_START, rsdp);
    for (PlacedTable table : tables.values()) {
      memory.write(table.address(), table.bytes());
    }
  }

  private static long align(long address) {
    return (address + TABLE_ALIGNMENT - 1) & -TABLE_ALIGNMENT;
  }
}
