package dev.kiln.vmm.arch.x86_64;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.memory.GuestRegion;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Checks the zero page at the field offsets of Linux's {@code struct boot_params}. */
class BootParamsTest {
  private static final long ZERO_PAGE = 0x7000;
  private static final long MIB = 1 << 20;
  private static final long INITRD_ADDRESS = 0x0780_0000;
  private static final long INITRD_SIZE = 0x12_3456;
  private static final long SETUP_DATA = 0x6000;
  private static final List<E820Entry> MAP = E820Entry.memoryMap(128 * MIB);

  private final GuestMemory memory =
      new GuestMemory(List.of(new GuestRegion(0, Arena.ofAuto().allocate(0x10000, 4096))));

  private int u8(long offset) {
    return memory.readU8(ZERO_PAGE + offset) & 0xff;
  }

  private int u16(long offset) {
    return memory.readU16(ZERO_PAGE + offset) & 0xffff;
  }

  private int u32(long offset) {
    return memory.readU32(ZERO_PAGE + offset);
  }

  private long u64(long offset) {
    return memory.readU64(ZERO_PAGE + offset);
  }

  private void writeElf(long initrdAddress, long initrdSize) {
    BootParams.write(memory, null, 12, initrdAddress, initrdSize, SETUP_DATA, 0, MAP);
  }

  /** Returns a setup header as a bzImage carries it from 0x1f1, with no zero byte. */
  private static byte[] bzImageHeader() {
    byte[] header = new byte[0x268 - 0x1f1];
    for (int i = 0; i < header.length; i++) {
      header[i] = (byte) (0x11 + i);
    }
    return header;
  }

  @Test
  void elfWritesBootFlagAndHeader() {
    writeElf(0, 0);

    assertThat(u16(0x1fe)).as("boot_flag").isEqualTo(0xaa55);
    assertThat(u32(0x202)).as("header").isEqualTo(0x53726448);
    assertThat(memory.read(ZERO_PAGE + 0x202, 4))
        .isEqualTo("HdrS".getBytes(StandardCharsets.US_ASCII));
  }

  @Test
  void elfWritesLoaderAndCmdline() {
    writeElf(0, 0);

    assertThat(u8(0x210)).as("type_of_loader").isEqualTo(0xff);
    assertThat(u32(0x228)).as("cmd_line_ptr").isEqualTo(0x20000);
  }

  @Test
  void elfWritesRamdiskFields() {
    writeElf(INITRD_ADDRESS, INITRD_SIZE);

    assertThat(u32(0x218)).as("ramdisk_image").isEqualTo((int) INITRD_ADDRESS);
    assertThat(u32(0x21c)).as("ramdisk_size").isEqualTo((int) INITRD_SIZE);
  }

  @Test
  void elfWithoutInitrdLeavesRamdiskZero() {
    memory.slice(ZERO_PAGE, BootParams.SIZE).fill((byte) 0xee);

    writeElf(0, 0);

    assertThat(u32(0x218)).as("ramdisk_image").isZero();
    assertThat(u32(0x21c)).as("ramdisk_size").isZero();
  }

  @Test
  void elfWritesSetupDataPointer() {
    writeElf(0, 0);

    assertThat(u64(0x250)).isEqualTo(SETUP_DATA);
  }

  @Test
  void elfWritesE820Table() {
    writeElf(0, 0);

    assertThat(u8(0x1e8)).as("e820_entries").isEqualTo(MAP.size());
    for (int i = 0; i < MAP.size(); i++) {
      long at = 0x2d0 + 20L * i;
      assertThat(u64(at)).as("address of entry %d", i).isEqualTo(MAP.get(i).address());
      assertThat(u64(at + 8)).as("size of entry %d", i).isEqualTo(MAP.get(i).size());
      assertThat(u32(at + 16)).as("type of entry %d", i).isEqualTo(MAP.get(i).type());
    }
    assertThat(u64(0x2d0 + 20L * MAP.size())).as("no entry after the map").isZero();
  }

  @Test
  void writeClearsOldZeroPageBytes() {
    memory.slice(ZERO_PAGE, BootParams.SIZE).fill((byte) 0xee);

    writeElf(0, 0);

    assertThat(u8(0x0)).as("screen_info").isZero();
    assertThat(u8(BootParams.SIZE - 1)).as("last byte").isZero();
  }

  @Test
  void bzImageHeaderCopiedUnchanged() {
    byte[] header = bzImageHeader();

    BootParams.write(memory, header, 12, INITRD_ADDRESS, INITRD_SIZE, SETUP_DATA, 0, MAP);

    byte[] written = memory.read(ZERO_PAGE + 0x1f1, header.length);
    // Kiln fills type_of_loader, ramdisk_image, ramdisk_size, cmd_line_ptr and setup_data.
    int[][] filledRanges = {{0x210, 1}, {0x218, 8}, {0x228, 4}, {0x250, 8}};
    for (int i = 0; i < header.length; i++) {
      int offset = 0x1f1 + i;
      boolean filled =
          Arrays.stream(filledRanges).anyMatch(r -> offset >= r[0] && offset < r[0] + r[1]);
      if (!filled) {
        assertThat(written[i]).as("header byte at %#x", offset).isEqualTo(header[i]);
      }
    }
  }

  @Test
  void bzImageHeaderGetsLoaderFields() {
    BootParams.write(memory, bzImageHeader(), 12, INITRD_ADDRESS, INITRD_SIZE, SETUP_DATA, 0, MAP);

    assertThat(u8(0x210)).as("type_of_loader").isEqualTo(0xff);
    assertThat(u32(0x228)).as("cmd_line_ptr").isEqualTo(0x20000);
    assertThat(u32(0x218)).as("ramdisk_image").isEqualTo((int) INITRD_ADDRESS);
    assertThat(u32(0x21c)).as("ramdisk_size").isEqualTo((int) INITRD_SIZE);
  }

  @Test
  void rngSeedLayout() {
    byte[] seed = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
    memory.slice(SETUP_DATA, 64).fill((byte) 0xee);

    int size = BootParams.writeRngSeed(memory, SETUP_DATA, seed);

    assertThat(size).isEqualTo(16 + seed.length);
    assertThat(memory.readU64(SETUP_DATA)).as("next").isZero();
    assertThat(memory.readU32(SETUP_DATA + 8)).as("type").isEqualTo(9);
    assertThat(memory.readU32(SETUP_DATA + 12)).as("len").isEqualTo(seed.length);
    assertThat(memory.read(SETUP_DATA + 16, seed.length)).isEqualTo(seed);
  }

  @Test
  void e820MaxEntriesAccepted() {
    List<E820Entry> map = new ArrayList<>();
    for (int i = 0; i < 128; i++) {
      map.add(new E820Entry(i * MIB, MIB, E820Entry.E820_RAM));
    }

    BootParams.write(memory, null, 0, 0, 0, 0, 0, map);

    assertThat(u8(0x1e8)).isEqualTo(128);
    assertThat(u64(0x2d0 + 20L * 127)).as("address of the last entry").isEqualTo(127 * MIB);
  }

  @Test
  void e820OverMaxEntriesThrows() {
    List<E820Entry> map = new ArrayList<>();
    for (int i = 0; i < 129; i++) {
      map.add(new E820Entry(i * MIB, MIB, E820Entry.E820_RAM));
    }

    assertThatThrownBy(() -> BootParams.write(memory, null, 0, 0, 0, 0, 0, map))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("129");
  }

  @Test
  void acpiRsdpAddressAtOffset0x70() {
    BootParams.write(memory, bzImageHeader(), 12, 0, 0, 0, 0xe0000, MAP);

    assertThat(u64(0x070)).isEqualTo(0xe0000);
  }

  @Test
  void acpiRsdpAddressZeroWithoutTables() {
    writeElf(0, 0);

    assertThat(u64(0x070)).isZero();
  }
}
