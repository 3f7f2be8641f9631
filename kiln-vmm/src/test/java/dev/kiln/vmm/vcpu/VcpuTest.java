package dev.kiln.vmm.vcpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The little-endian helpers that move port I/O and MMIO data between kvm_run and devices. */
class VcpuTest {
  private static final long VALUE = 0x8877_6655_4433_2211L;

  private static MemorySegment segment(int size) {
    return Arena.ofAuto().allocate(size);
  }

  private static long lowBytes(long value, int size) {
    return size == 8 ? value : value & ((1L << (8 * size)) - 1);
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 4, 8})
  void storeWritesLittleEndian(int size) {
    MemorySegment bytes = segment(size);

    Vcpu.store(bytes, VALUE);

    for (int i = 0; i < size; i++) {
      assertThat(bytes.get(ValueLayout.JAVA_BYTE, i))
          .as("byte %d", i)
          .isEqualTo((byte) (0x11 * (i + 1)));
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 4, 8})
  void loadReadsLittleEndian(int size) {
    MemorySegment bytes = segment(size);
    for (int i = 0; i < size; i++) {
      bytes.set(ValueLayout.JAVA_BYTE, i, (byte) (0x11 * (i + 1)));
    }

    assertThat(Vcpu.load(bytes)).isEqualTo(lowBytes(VALUE, size));
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 4, 8})
  void storeLoadRoundTrip(int size) {
    MemorySegment bytes = segment(size);

    Vcpu.store(bytes, VALUE);

    assertThat(Vcpu.load(bytes)).isEqualTo(lowBytes(VALUE, size));
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 4, 8})
  void loadDoesNotSignExtend(int size) {
    MemorySegment bytes = segment(size);
    bytes.fill((byte) 0xff);

    assertThat(Vcpu.load(bytes)).isEqualTo(lowBytes(-1L, size));
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 4, 8})
  void storeAllOnesFillsSegment(int size) {
    MemorySegment bytes = segment(size);

    Vcpu.store(bytes, -1L);

    for (int i = 0; i < size; i++) {
      assertThat(bytes.get(ValueLayout.JAVA_BYTE, i)).as("byte %d", i).isEqualTo((byte) 0xff);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 4})
  void storeLeavesBytesBeyondSegment(int size) {
    MemorySegment buffer = segment(8);
    buffer.fill((byte) 0x5a);

    Vcpu.store(buffer.asSlice(0, size), VALUE);

    for (int i = size; i < 8; i++) {
      assertThat(buffer.get(ValueLayout.JAVA_BYTE, i)).as("byte %d", i).isEqualTo((byte) 0x5a);
    }
  }
}
