package dev.kiln.vmm.arch.x86_64;

import static dev.kiln.vmm.arch.x86_64.E820Entry.E820_RAM;
import static dev.kiln.vmm.arch.x86_64.E820Entry.E820_RESERVED;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class E820EntryTest {
  private static final long MIB = 1L << 20;
  private static final long GIB = 1L << 30;

  @Test
  void memoryMap128MibHasTwoRamEntriesAndBiosArea() {
    List<E820Entry> map = E820Entry.memoryMap(128 * MIB);

    assertThat(map)
        .containsExactly(
            new E820Entry(0, 0x9fc00, E820_RAM),
            new E820Entry(0x9fc00, MIB - 0x9fc00, E820_RESERVED),
            new E820Entry(MIB, 127 * MIB, E820_RAM));
  }

  @Test
  void memoryMapEndingAtDeviceWindow() {
    List<E820Entry> map = E820Entry.memoryMap(0xd000_0000L);

    assertThat(map)
        .containsExactly(
            new E820Entry(0, 0x9fc00, E820_RAM),
            new E820Entry(0x9fc00, MIB - 0x9fc00, E820_RESERVED),
            new E820Entry(MIB, 0xd000_0000L - MIB, E820_RAM));
  }

  @Test
  void memoryMapAbove4GibContinuesAt4Gib() {
    long size = 4 * GIB + GIB;

    List<E820Entry> map = E820Entry.memoryMap(size);

    assertThat(map)
        .containsExactly(
            new E820Entry(0, 0x9fc00, E820_RAM),
            new E820Entry(0x9fc00, MIB - 0x9fc00, E820_RESERVED),
            new E820Entry(MIB, 0xd000_0000L - MIB, E820_RAM),
            new E820Entry(4 * GIB, size - 0xd000_0000L, E820_RAM));
  }

  @Test
  void memoryMapOneByteAboveWindow() {
    List<E820Entry> map = E820Entry.memoryMap(0xd000_0001L);

    assertThat(map).hasSize(4);
    assertThat(map.get(3)).isEqualTo(new E820Entry(4 * GIB, 1, E820_RAM));
  }

  @Test
  void memoryMapTotalsMemorySize() {
    long[] sizes = {128 * MIB, 0xd000_0000L, 5 * GIB};

    for (long size : sizes) {
      long total =
          E820Entry.memoryMap(size).stream()
              .filter(entry -> entry.type() == E820_RAM)
              .mapToLong(E820Entry::size)
              .sum();
      // The 1 KiB EBDA and the 384 KiB legacy hole below 1 MiB are not RAM.
      assertThat(total).as("RAM in the map of %#x bytes", size).isEqualTo(size - (MIB - 0x9fc00));
    }
  }
}
