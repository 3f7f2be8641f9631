package dev.kiln.vmm.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.Test;

class GuestMemoryTest {
  private static final long PAGE = 4096;
  private static final long LOW_SIZE = 4 * PAGE;
  private static final long HIGH_START = 0x10_0000;
  private static final long HIGH_SIZE = 2 * PAGE;

  private static MemorySegment allocate(long size) {
    return Arena.ofAuto().allocate(size, PAGE);
  }

  /** Two regions with a gap: [0, 16 KiB) and [1 MiB, 1 MiB + 8 KiB). */
  private final GuestMemory memory =
      new GuestMemory(
          List.of(
              new GuestRegion(0, allocate(LOW_SIZE)),
              new GuestRegion(HIGH_START, allocate(HIGH_SIZE))));

  // Bounds

  @Test
  void memoryReadAtRegionEnd() {
    memory.write(LOW_SIZE - 4, new byte[] {1, 2, 3, 4});

    assertThat(memory.read(LOW_SIZE - 4, 4)).containsExactly(1, 2, 3, 4);
    assertThat(memory.readU8(LOW_SIZE - 1)).isEqualTo((byte) 4);
  }

  @Test
  void memoryReadOnePastEndThrows() {
    assertThatThrownBy(() -> memory.read(LOW_SIZE - 4, 5)).isInstanceOf(GuestMemoryException.class);
    assertThatThrownBy(() -> memory.readU8(LOW_SIZE)).isInstanceOf(GuestMemoryException.class);
  }

  @Test
  void memoryWriteOnePastEndThrows() {
    assertThatThrownBy(() -> memory.write(LOW_SIZE - 4, new byte[5]))
        .isInstanceOf(GuestMemoryException.class);
    assertThatThrownBy(() -> memory.writeU64(HIGH_START + HIGH_SIZE - 7, 0))
        .isInstanceOf(GuestMemoryException.class);
  }

  @Test
  void memoryFailedWriteChangesNothing() {
    assertThatThrownBy(() -> memory.write(LOW_SIZE - 2, new byte[] {9, 9, 9}))
        .isInstanceOf(GuestMemoryException.class);

    assertThat(memory.read(LOW_SIZE - 2, 2)).containsOnly(0);
  }

  @Test
  void memoryWideAccessAtEndFits() {
    memory.writeU64(HIGH_START + HIGH_SIZE - 8, 0x0102_0304_0506_0708L);

    assertThat(memory.readU64(HIGH_START + HIGH_SIZE - 8)).isEqualTo(0x0102_0304_0506_0708L);
  }

  @Test
  void memoryExceptionNamesAccess() {
    assertThatThrownBy(() -> memory.read(LOW_SIZE - 4, 5))
        .isInstanceOf(GuestMemoryException.class)
        .hasMessageContaining("5 bytes")
        .hasMessageContaining("0x3ffc")
        .satisfies(
            e -> {
              assertThat(((GuestMemoryException) e).address()).isEqualTo(LOW_SIZE - 4);
              assertThat(((GuestMemoryException) e).length()).isEqualTo(5);
            });
  }

  @Test
  void memoryNegativeLengthThrows() {
    assertThatThrownBy(() -> memory.slice(0x100, -1))
        .isInstanceOf(GuestMemoryException.class)
        .hasMessageContaining("negative length");
    assertThatThrownBy(() -> memory.zero(0x100, -1)).isInstanceOf(GuestMemoryException.class);
    assertThatThrownBy(() -> memory.read(0x100, -1)).isInstanceOf(GuestMemoryException.class);
  }

  @Test
  void memoryNegativeAddressThrows() {
    assertThatThrownBy(() -> memory.readU8(-1)).isInstanceOf(GuestMemoryException.class);
    assertThatThrownBy(() -> memory.read(Long.MIN_VALUE, 1))
        .isInstanceOf(GuestMemoryException.class);
  }

  @Test
  void memoryAddressOverflowThrows() {
    assertThatThrownBy(() -> memory.read(Long.MAX_VALUE, 1))
        .isInstanceOf(GuestMemoryException.class);
    assertThatThrownBy(() -> memory.readU64(Long.MAX_VALUE - 3))
        .isInstanceOf(GuestMemoryException.class);
    assertThatThrownBy(() -> memory.slice(HIGH_START, Long.MAX_VALUE))
        .isInstanceOf(GuestMemoryException.class);
    assertThatThrownBy(() -> memory.slice(Long.MAX_VALUE, Long.MAX_VALUE))
        .isInstanceOf(GuestMemoryException.class);
  }

  @Test
  void memoryRegionAtTopOfAddressSpace() {
    long start = Long.MAX_VALUE - PAGE + 1;
    GuestMemory top = new GuestMemory(List.of(new GuestRegion(start, allocate(PAGE))));

    top.writeU32(Long.MAX_VALUE - 3, 0x1234_5678);

    assertThat(top.readU32(Long.MAX_VALUE - 3)).isEqualTo(0x1234_5678);
    assertThatThrownBy(() -> top.read(Long.MAX_VALUE - 3, 5))
        .isInstanceOf(GuestMemoryException.class);
  }

  @Test
  void memoryInGapThrows() {
    assertThatThrownBy(() -> memory.readU8(LOW_SIZE)).isInstanceOf(GuestMemoryException.class);
    assertThatThrownBy(() -> memory.readU8(HIGH_START - 1))
        .isInstanceOf(GuestMemoryException.class);
  }

  @Test
  void memoryRangeSpanningGapThrows() {
    assertThatThrownBy(() -> memory.read(LOW_SIZE - 8, (int) (HIGH_START - LOW_SIZE + 16)))
        .isInstanceOf(GuestMemoryException.class);
    assertThat(memory.contains(LOW_SIZE - 8, HIGH_START - LOW_SIZE + 16)).isFalse();
  }

  @Test
  void memoryRangeSpanningAdjacentRegionsThrows() {
    GuestMemory adjacent =
        new GuestMemory(
            List.of(new GuestRegion(0, allocate(PAGE)), new GuestRegion(PAGE, allocate(PAGE))));

    // Each region has its own host mapping, so one access cannot span both.
    assertThatThrownBy(() -> adjacent.readU32(PAGE - 2)).isInstanceOf(GuestMemoryException.class);
    assertThat(adjacent.readU32(PAGE)).isZero();
  }

  @Test
  void memoryContainsChecksOneRegion() {
    assertThat(memory.contains(0, LOW_SIZE)).isTrue();
    assertThat(memory.contains(HIGH_START, HIGH_SIZE)).isTrue();
    assertThat(memory.contains(HIGH_START + HIGH_SIZE, 0)).as("empty range at the end").isTrue();
    assertThat(memory.contains(0, LOW_SIZE + 1)).isFalse();
    assertThat(memory.contains(HIGH_START, -1)).isFalse();
  }

  @Test
  void memorySliceReachesSecondRegion() {
    memory.writeU8(HIGH_START + 5, 0x7f);

    assertThat(memory.slice(HIGH_START, HIGH_SIZE).byteSize()).isEqualTo(HIGH_SIZE);
    assertThat(memory.readU8(HIGH_START + 5)).isEqualTo((byte) 0x7f);
    assertThat(memory.readU8(5)).as("low region untouched").isZero();
  }

  @Test
  void memoryZeroClearsRange() {
    memory.write(0x10, new byte[] {1, 2, 3, 4, 5});

    memory.zero(0x11, 3);

    assertThat(memory.read(0x10, 5)).containsExactly(1, 0, 0, 0, 5);
  }

  @Test
  void memoryWriteWithOffset() {
    memory.write(0x20, new byte[] {1, 2, 3, 4, 5}, 1, 3);

    assertThat(memory.read(0x1f, 5)).containsExactly(0, 2, 3, 4, 0);
  }

  @Test
  void memorySizeAndEnd() {
    assertThat(memory.size()).isEqualTo(LOW_SIZE + HIGH_SIZE);
    assertThat(memory.end()).isEqualTo(HIGH_START + HIGH_SIZE);
    assertThat(memory.regions()).hasSize(2);
  }

  @Test
  void memoryWithoutRegions() {
    GuestMemory empty = new GuestMemory(List.of());

    assertThat(empty.size()).isZero();
    assertThat(empty.end()).isZero();
    assertThatThrownBy(() -> empty.readU8(0)).isInstanceOf(GuestMemoryException.class);
  }

  // Construction

  @Test
  void overlappingRegionsRejected() {
    List<GuestRegion> regions =
        List.of(new GuestRegion(0, allocate(2 * PAGE)), new GuestRegion(PAGE, allocate(PAGE)));

    assertThatThrownBy(() -> new GuestMemory(regions)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void unsortedRegionsRejected() {
    List<GuestRegion> regions =
        List.of(new GuestRegion(HIGH_START, allocate(PAGE)), new GuestRegion(0, allocate(PAGE)));

    assertThatThrownBy(() -> new GuestMemory(regions)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void adjacentRegionsAccepted() {
    GuestMemory adjacent =
        new GuestMemory(
            List.of(new GuestRegion(0, allocate(PAGE)), new GuestRegion(PAGE, allocate(PAGE))));

    assertThat(adjacent.size()).isEqualTo(2 * PAGE);
  }

  // Byte order

  @Test
  void memoryU16LittleEndian() {
    memory.writeU16(0x100, 0xbeef);

    assertThat(memory.read(0x100, 2)).containsExactly(0xef, 0xbe);
    assertThat(memory.readU16(0x100) & 0xffff).isEqualTo(0xbeef);
  }

  @Test
  void memoryU32LittleEndian() {
    memory.writeU32(0x101, 0xdead_beef);

    assertThat(memory.read(0x101, 4)).containsExactly(0xef, 0xbe, 0xad, 0xde);
    assertThat(memory.readU32(0x101)).isEqualTo(0xdead_beef);
  }

  @Test
  void memoryU64LittleEndian() {
    memory.writeU64(0x103, 0x0123_4567_89ab_cdefL);

    assertThat(memory.read(0x103, 8))
        .containsExactly(0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01);
    assertThat(memory.readU64(0x103)).isEqualTo(0x0123_4567_89ab_cdefL);
  }

  @Test
  void memoryU8WritesLowByte() {
    memory.writeU8(0x200, 0x1ff);

    assertThat(memory.read(0x200, 2)).containsExactly(0xff, 0);
  }

  @Test
  void memoryU16WritesLowBytes() {
    memory.writeU16(0x200, 0x12_3456);

    assertThat(memory.read(0x200, 3)).containsExactly(0x56, 0x34, 0);
  }
}
