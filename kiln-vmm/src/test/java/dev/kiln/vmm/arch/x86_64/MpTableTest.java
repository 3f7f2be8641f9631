package dev.kiln.vmm.arch.x86_64;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Reads the tables of {@link MpTable#build} the way a guest that follows the MultiProcessor
 * Specification 1.4 does: find the floating pointer, follow its physical pointer to the
 * configuration table and walk the entries by their type bytes.
 */
class MpTableTest {
  private static final long ADDRESS = 0x9fc00;
  private static final int PROCESSOR = 0;
  private static final int BUS = 1;
  private static final int IOAPIC = 2;
  private static final int IO_INTERRUPT = 3;
  private static final int LOCAL_INTERRUPT = 4;

  /** One configuration table entry: its type byte and all its bytes, the type byte included. */
  private record Entry(int type, byte[] bytes) {
    int u8(int offset) {
      return bytes[offset] & 0xff;
    }

    int u32(int offset) {
      return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getInt(offset);
    }
  }

  private static int sum(byte[] bytes, int from, int length) {
    int sum = 0;
    for (int i = from; i < from + length; i++) {
      sum += bytes[i];
    }
    return sum & 0xff;
  }

  private static ByteBuffer littleEndian(byte[] bytes) {
    return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Returns the offset of the configuration table within the bytes, from the physical pointer. */
  private static int tableOffset(byte[] bytes) {
    long physicalPointer = littleEndian(bytes).getInt(4) & 0xffff_ffffL;
    return (int) (physicalPointer - ADDRESS);
  }

  /** Walks the base table entries, sizing each by its type as a guest does. */
  private static List<Entry> walkEntries(byte[] bytes) {
    int table = tableOffset(bytes);
    int baseLength = littleEndian(bytes).getShort(table + 4) & 0xffff;
    int end = table + baseLength;
    List<Entry> entries = new ArrayList<>();
    int at = table + 44;
    while (at < end) {
      int type = bytes[at] & 0xff;
      int length =
          switch (type) {
            case PROCESSOR -> 20;
            case BUS, IOAPIC, IO_INTERRUPT, LOCAL_INTERRUPT -> 8;
            default -> throw new AssertionError("unknown MP entry type " + type + " at " + at);
          };
      byte[] entry = new byte[length];
      System.arraycopy(bytes, at, entry, 0, length);
      entries.add(new Entry(type, entry));
      at += length;
    }
    assertThat(at).as("entries end exactly at the base table length").isEqualTo(end);
    return entries;
  }

  private static List<Entry> ofType(List<Entry> entries, int type) {
    return entries.stream().filter(e -> e.type() == type).toList();
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 32})
  void floatingPointerHasSignatureAndPointer(int cpus) {
    byte[] bytes = MpTable.build(ADDRESS, cpus);

    assertThat(new String(bytes, 0, 4, StandardCharsets.US_ASCII)).isEqualTo("_MP_");
    assertThat(littleEndian(bytes).getInt(4)).isEqualTo(0x9fc10);
    assertThat(bytes[8]).as("length in 16-byte units").isEqualTo((byte) 1);
    assertThat(bytes[9]).as("spec revision").isEqualTo((byte) 4);
    assertThat(bytes[11]).as("feature byte 1: configuration table present").isEqualTo((byte) 0);
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 32})
  void floatingPointerChecksumSumsToZero(int cpus) {
    byte[] bytes = MpTable.build(ADDRESS, cpus);

    assertThat(sum(bytes, 0, 16)).isZero();
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 32})
  void configHeaderHasSignatureAndLength(int cpus) {
    byte[] bytes = MpTable.build(ADDRESS, cpus);
    int table = tableOffset(bytes);

    assertThat(new String(bytes, table, 4, StandardCharsets.US_ASCII)).isEqualTo("PCMP");
    assertThat(littleEndian(bytes).getShort(table + 4) & 0xffff)
        .as("base table length")
        .isEqualTo(bytes.length - table);
    assertThat(bytes[table + 6]).as("spec revision").isEqualTo((byte) 4);
    assertThat(littleEndian(bytes).getInt(table + 36))
        .as("local APIC address")
        .isEqualTo(0xfee0_0000);
    assertThat(littleEndian(bytes).getShort(table + 40)).as("extended table length").isZero();
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 32})
  void configChecksumSumsToZero(int cpus) {
    byte[] bytes = MpTable.build(ADDRESS, cpus);
    int table = tableOffset(bytes);
    int baseLength = littleEndian(bytes).getShort(table + 4) & 0xffff;

    assertThat(sum(bytes, table, baseLength)).isZero();
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 32})
  void entryCountMatchesWalkedEntries(int cpus) {
    byte[] bytes = MpTable.build(ADDRESS, cpus);
    int table = tableOffset(bytes);

    List<Entry> entries = walkEntries(bytes);

    assertThat(littleEndian(bytes).getShort(table + 34) & 0xffff).isEqualTo(entries.size());
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 32})
  void processorEntriesOnePerCpu(int cpus) {
    List<Entry> processors = ofType(walkEntries(MpTable.build(ADDRESS, cpus)), PROCESSOR);

    assertThat(processors).hasSize(cpus);
    for (int cpu = 0; cpu < cpus; cpu++) {
      Entry entry = processors.get(cpu);
      assertThat(entry.u8(1)).as("APIC id of CPU %d", cpu).isEqualTo(cpu);
      assertThat(entry.u8(3))
          .as("flags of CPU %d: enabled, and BSP only for CPU 0", cpu)
          .isEqualTo(cpu == 0 ? 3 : 1);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 32})
  void busEntryIsIsa(int cpus) {
    List<Entry> buses = ofType(walkEntries(MpTable.build(ADDRESS, cpus)), BUS);

    assertThat(buses).hasSize(1);
    assertThat(buses.getFirst().u8(1)).as("bus id").isZero();
    assertThat(new String(buses.getFirst().bytes(), 2, 6, StandardCharsets.US_ASCII))
        .isEqualTo("ISA   ");
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 32})
  void ioapicEntryAtDefaultAddress(int cpus) {
    List<Entry> entries = walkEntries(MpTable.build(ADDRESS, cpus));
    List<Entry> ioapics = ofType(entries, IOAPIC);

    assertThat(ioapics).hasSize(1);
    Entry ioapic = ioapics.getFirst();
    assertThat(ioapic.u8(3) & 1).as("enabled flag").isEqualTo(1);
    assertThat(ioapic.u32(4)).isEqualTo(0xfec0_0000);
    List<Integer> apicIds = ofType(entries, PROCESSOR).stream().map(e -> e.u8(1)).toList();
    assertThat(apicIds).as("IOAPIC id is distinct from every CPU").doesNotContain(ioapic.u8(1));
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 32})
  void ioInterruptEntriesCoverAllPins(int cpus) {
    List<Entry> entries = walkEntries(MpTable.build(ADDRESS, cpus));
    int ioapicId = ofType(entries, IOAPIC).getFirst().u8(1);
    List<Entry> interrupts = ofType(entries, IO_INTERRUPT);

    assertThat(interrupts).hasSize(24);
    for (int pin = 0; pin < 24; pin++) {
      Entry entry = interrupts.get(pin);
      assertThat(entry.u8(1)).as("interrupt type of pin %d", pin).isZero();
      assertThat(entry.u8(4)).as("source bus of pin %d", pin).isZero();
      assertThat(entry.u8(5)).as("source IRQ of pin %d", pin).isEqualTo(pin);
      assertThat(entry.u8(6)).as("destination IOAPIC of pin %d", pin).isEqualTo(ioapicId);
      assertThat(entry.u8(7)).as("destination pin %d", pin).isEqualTo(pin);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 32})
  void localInterruptsExtIntAndNmi(int cpus) {
    List<Entry> locals = ofType(walkEntries(MpTable.build(ADDRESS, cpus)), LOCAL_INTERRUPT);

    assertThat(locals).hasSize(2);
    Entry extInt = locals.get(0);
    assertThat(extInt.u8(1)).as("ExtINT type").isEqualTo(3);
    assertThat(extInt.u8(7)).as("ExtINT to LINT0").isZero();
    Entry nmi = locals.get(1);
    assertThat(nmi.u8(1)).as("NMI type").isEqualTo(1);
    assertThat(nmi.u8(6)).as("NMI to all local APICs").isEqualTo(0xff);
    assertThat(nmi.u8(7)).as("NMI to LINT1").isEqualTo(1);
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 32})
  void sizeMatchesBuiltBytes(int cpus) {
    assertThat(MpTable.build(ADDRESS, cpus)).hasSize(MpTable.size(cpus));
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 32})
  void tablesFitBelowBiosArea(int cpus) {
    byte[] bytes = MpTable.build(Layout.MPTABLE_START, cpus);

    assertThat(Layout.MPTABLE_START + bytes.length).isLessThanOrEqualTo(0xa0000);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, -1, 255})
  void cpuCountOutOfRangeThrows(int cpus) {
    assertThatThrownBy(() -> MpTable.build(ADDRESS, cpus))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(Integer.toString(cpus));
  }
}
