package dev.kiln.vmm.acpi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Builds the Multiple APIC Description Table (ACPI 6.5, 5.2.12): the local APIC address, one
 * Processor Local APIC structure per vCPU and one I/O APIC structure. There are no interrupt source
 * overrides: ISA IRQ n is IOAPIC pin n, the identity mapping a guest assumes without them and the
 * one KVM's in-kernel irqchip routes.
 */
public final class Madt {
  /** The MADT revision (ACPI 6.5, table 5.19). */
  static final int REVISION = 6;

  /** Bytes after the common header: local APIC address and flags. */
  static final int FIXED_FIELDS_SIZE = 8;

  // Interrupt controller structure types and sizes, ACPI 6.5 table 5.21.
  static final int TYPE_LOCAL_APIC = 0;
  static final int TYPE_IO_APIC = 1;
  static final int LOCAL_APIC_SIZE = 8;
  static final int IO_APIC_SIZE = 12;

  /** Processor Local APIC flag: the processor is usable (ACPI 6.5, table 5.23). */
  static final int LOCAL_APIC_ENABLED = 1;

  /** The largest vCPU count: a Processor Local APIC structure holds an 8-bit APIC ID. */
  public static final int MAX_CPUS = 255;

  private Madt() {}

  /** Returns the MADT's size in bytes for {@code cpuCount} vCPUs. */
  public static int size(int cpuCount) {
    return SystemDescriptionTable.HEADER_SIZE
        + FIXED_FIELDS_SIZE
        + IO_APIC_SIZE
        + LOCAL_APIC_SIZE * cpuCount;
  }

  /**
   * Returns the MADT of a machine with {@code cpuCount} vCPUs, whose local APIC IDs and processor
   * UIDs are 0 to {@code cpuCount - 1}.
   *
   * @param localApicAddress the physical address of each local APIC
   * @param ioApicId the I/O APIC's ID
   * @param ioApicAddress the I/O APIC's physical address; its first pin is GSI 0
   * @throws IllegalArgumentException when {@code cpuCount} is not 1 to {@link #MAX_CPUS}
   */
  public static byte[] build(
      int cpuCount, long localApicAddress, int ioApicId, long ioApicAddress) {
    if (cpuCount < 1 || cpuCount > MAX_CPUS) {
      throw new IllegalArgumentException(
          "invalid CPU count " + cpuCount + ": the MADT lists 1 to " + MAX_CPUS + " CPUs");
    }
    ByteBuffer body =
        ByteBuffer.allocate(size(cpuCount) - SystemDescriptionTable.HEADER_SIZE)
            .order(ByteOrder.LITTLE_ENDIAN);
    body.putInt((int) localApicAddress);
    body.putInt(0); // flags: PCAT_COMPAT (bit 0) stays clear, as in Firecracker 1.8

    body.put((byte) TYPE_IO_APIC);
    body.put((byte) IO_APIC_SIZE);
    body.put((byte) ioApicId);
    body.put((byte) 0); // reserved
    body.putInt((int) ioApicAddress);
    body.putInt(0); // global system interrupt base

    for (int cpu = 0; cpu < cpuCount; cpu++) {
      body.put((byte) TYPE_LOCAL_APIC);
      body.put((byte) LOCAL_APIC_SIZE);
      body.put((byte) cpu); // ACPI processor UID
      body.put((byte) cpu); // APIC ID
      body.putInt(LOCAL_APIC_ENABLED);
    }
    return SystemDescriptionTable.build("APIC", REVISION, "KILNMADT", body.array());
  }
}
