package dev.kiln.vmm.arch.x86_64;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Builds the Intel MultiProcessor Specification 1.4 tables: a floating pointer structure and the
 * configuration table it points to, with one processor entry per vCPU, one ISA bus, the IOAPIC, one
 * I/O interrupt entry per IOAPIC pin and the two local interrupt entries (LINT0 ExtINT, LINT1 NMI).
 * Guests without ACPI, Linux with {@code acpi=off} and FreeBSD among them, find CPUs and interrupt
 * routing here.
 */
public final class MpTable {
  /** The largest number of vCPUs the table describes. */
  public static final int MAX_CPUS = 254;

  // MP spec 1.4, chapter 4: entry types and sizes.
  static final int FLOATING_POINTER_SIZE = 16;
  static final int HEADER_SIZE = 44;
  static final int PROCESSOR_ENTRY = 0;
  static final int BUS_ENTRY = 1;
  static final int IOAPIC_ENTRY = 2;
  static final int IO_INTERRUPT_ENTRY = 3;
  static final int LOCAL_INTERRUPT_ENTRY = 4;
  static final int PROCESSOR_ENTRY_SIZE = 20;
  static final int OTHER_ENTRY_SIZE = 8;

  static final int SPEC_REVISION = 4;
  static final int CPU_FLAG_ENABLED = 1;
  static final int CPU_FLAG_BOOT_PROCESSOR = 2;
  static final int APIC_VERSION = 0x14;
  static final int IOAPIC_VERSION = 0x11;
  static final int INTERRUPT_TYPE_INT = 0;
  static final int INTERRUPT_TYPE_NMI = 1;
  static final int INTERRUPT_TYPE_EXTINT = 3;
  // CPU signature (family 6) and feature flags (FPU bit 0, APIC bit 9) of each processor entry.
  static final int CPU_SIGNATURE = 0x600;
  static final int CPU_FEATURES = 0x201;
  static final int ISA_BUS_ID = 0;
  static final int ALL_LOCAL_APICS = 0xff;

  private MpTable() {}

  /**
   * Returns the IOAPIC's ID in a machine with {@code cpuCount} vCPUs, an ID above the local APICs'
   * IDs 0 to {@code cpuCount - 1}. The MADT uses the same ID.
   */
  public static int ioApicId(int cpuCount) {
    return cpuCount + 1;
  }

  /** Returns the size in bytes of the tables for {@code cpuCount} vCPUs. */
  public static int size(int cpuCount) {
    return FLOATING_POINTER_SIZE
        + HEADER_SIZE
        + cpuCount * PROCESSOR_ENTRY_SIZE
        + (2 + Layout.IOAPIC_PINS + 2) * OTHER_ENTRY_SIZE;
  }

  /**
   * Returns the tables for {@code cpuCount} vCPUs, to be placed at {@code address}: the floating
   * pointer first, the configuration table right after it.
   *
   * @throws IllegalArgumentException when {@code cpuCount} is not 1 to {@link #MAX_CPUS}
   */
  public static byte[] build(long address, int cpuCount) {
    if (cpuCount < 1 || cpuCount > MAX_CPUS) {
      throw new IllegalArgumentException(
          "invalid CPU count " + cpuCount + ": an MP table lists 1 to 254 CPUs");
    }
    ByteBuffer b = ByteBuffer.allocate(size(cpuCount)).order(ByteOrder.LITTLE_ENDIAN);
    long tableAddress = address + FLOATING_POINTER_SIZE;
    int ioapicId = ioApicId(cpuCount);

    // Floating pointer structure (MP spec 4.1).
    b.put("_MP_".getBytes(StandardCharsets.US_ASCII));
    b.putInt((int) tableAddress);
    b.put((byte) 1); // length in 16-byte units
    b.put((byte) SPEC_REVISION);
    b.put((byte) 0); // checksum, filled below
    b.put(new byte[5]); // feature bytes: 0 means a configuration table is present

    // Configuration table header (MP spec 4.2).
    int tableStart = b.position();
    b.put("PCMP".getBytes(StandardCharsets.US_ASCII));
    b.putShort((short) 0); // base table length, filled below
    b.put((byte) SPEC_REVISION);
    b.put((byte) 0); // checksum, filled below
    b.put(padded("KILN", 8));
    b.put(padded("MICROVM", 12));
    b.putInt(0); // OEM table pointer
    b.putShort((short) 0); // OEM table size
    b.putShort((short) 0); // entry count, filled below
    b.putInt((int) Layout.APIC_START);
    b.putShort((short) 0); // extended table length
    b.put((byte) 0); // extended table checksum
    b.put((byte) 0);

    int entries = 0;
    for (int cpu = 0; cpu < cpuCount; cpu++) {
      b.put((byte) PROCESSOR_ENTRY);
      b.put((byte) cpu); // local APIC id
      b.put((byte) APIC_VERSION);
      b.put((byte) (CPU_FLAG_ENABLED | (cpu == 0 ? CPU_FLAG_BOOT_PROCESSOR : 0)));
      b.putInt(CPU_SIGNATURE);
      b.putInt(CPU_FEATURES);
      b.put(new byte[8]);
      entries++;
    }

    b.put((byte) BUS_ENTRY);
    b.put((byte) ISA_BUS_ID);
    b.put(padded("ISA", 6));
    entries++;

    b.put((byte) IOAPIC_ENTRY);
    b.put((byte) ioapicId);
    b.put((byte) IOAPIC_VERSION);
    b.put((byte) 1); // enabled
    b.putInt((int) Layout.IOAPIC_START);
    entries++;

    for (int pin = 0; pin < Layout.IOAPIC_PINS; pin++) {
      b.put((byte) IO_INTERRUPT_ENTRY);
      b.put((byte) INTERRUPT_TYPE_INT);
      b.putShort((short) 0); // polarity and trigger conform to the bus
      b.put((byte) ISA_BUS_ID);
      b.put((byte) pin); // source bus IRQ
      b.put((byte) ioapicId);
      b.put((byte) pin); // IOAPIC input pin
      entries++;
    }

    b.put((byte) LOCAL_INTERRUPT_ENTRY);
    b.put((byte) INTERRUPT_TYPE_EXTINT);
    b.putShort((short) 0);
    b.put((byte) ISA_BUS_ID);
    b.put((byte) 0);
    b.put((byte) 0); // the boot processor's local APIC
    b.put((byte) 0); // LINT0
    entries++;

    b.put((byte) LOCAL_INTERRUPT_ENTRY);
    b.put((byte) INTERRUPT_TYPE_NMI);
    b.putShort((short) 0);
    b.put((byte) ISA_BUS_ID);
    b.put((byte) 0);
    b.put((byte) ALL_LOCAL_APICS);
    b.put((byte) 1); // LINT1
    entries++;

    byte[] bytes = b.array();
    int tableLength = bytes.length - tableStart;
    putShort(bytes, tableStart + 4, tableLength);
    putShort(bytes, tableStart + 34, entries);
    bytes[tableStart + 7] = checksum(bytes, tableStart, tableLength);
    bytes[10] = checksum(bytes, 0, FLOATING_POINTER_SIZE);
    return bytes;
  }

  /** Returns the byte that makes the bytes of the range sum to zero. */
  static byte checksum(byte[] bytes, int from, int length) {
    int sum = 0;
    for (int i = from; i < from + length; i++) {
      sum += bytes[i];
    }
    return (byte) -sum;
  }

  private static void putShort(byte[] bytes, int at, int value) {
    bytes[at] = (byte) value;
    bytes[at + 1] = (byte) (value >>> 8);
  }

  private static byte[] padded(String text, int length) {
    byte[] out = new byte[length];
    java.util.Arrays.fill(out, (byte) ' ');
    byte[] ascii = text.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(ascii, 0, out, 0, Math.min(ascii.length, length));
    return out;
  }
}
