package dev.kiln.vmm.devices;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BusTest {
  /** A device that records each access and reads back a fixed value. */
  private static final class RecordingDevice implements BusDevice {
    record Access(String kind, long offset, int size, long value) {}

    final List<Access> accesses = new ArrayList<>();
    private final long readValue;

    RecordingDevice(long readValue) {
      this.readValue = readValue;
    }

    @Override
    public long read(long offset, int size) {
      accesses.add(new Access("read", offset, size, 0));
      return readValue;
    }

    @Override
    public void write(long offset, int size, long value) {
      accesses.add(new Access("write", offset, size, value));
    }
  }

  private final Bus bus = new Bus("pio");
  private final RecordingDevice device = new RecordingDevice(0x42);

  @Test
  void busReadPassesOffset() {
    bus.attach(0x3f8, 8, device);

    long value = bus.read(0x3fd, 1);

    assertThat(value).isEqualTo(0x42);
    assertThat(device.accesses).containsExactly(new RecordingDevice.Access("read", 5, 1, 0));
  }

  @Test
  void busWritePassesOffsetAndValue() {
    bus.attach(0x3f8, 8, device);

    bus.write(0x3f8, 1, 0x41);

    assertThat(device.accesses).containsExactly(new RecordingDevice.Access("write", 0, 1, 0x41));
  }

  @Test
  void busAccessAtLastByteClaimed() {
    bus.attach(0x3f8, 8, device);

    bus.read(0x3ff, 1);

    assertThat(device.accesses).containsExactly(new RecordingDevice.Access("read", 7, 1, 0));
    assertThat(bus.unclaimedReads()).isZero();
  }

  @Test
  void busRoutesToRightDevice() {
    RecordingDevice other = new RecordingDevice(0x99);
    bus.attach(0x60, 5, device);
    bus.attach(0x70, 2, other);

    assertThat(bus.read(0x71, 1)).isEqualTo(0x99);
    assertThat(bus.read(0x64, 1)).isEqualTo(0x42);
    assertThat(other.accesses).containsExactly(new RecordingDevice.Access("read", 1, 1, 0));
    assertThat(device.accesses).containsExactly(new RecordingDevice.Access("read", 4, 1, 0));
  }

  @Test
  void busUnclaimedReadReturnsOnes() {
    bus.attach(0x3f8, 8, device);

    assertThat(bus.read(0x2f8, 1)).isEqualTo(-1L);
    assertThat(bus.read(0x400, 4)).isEqualTo(-1L);
    assertThat(bus.unclaimedReads()).isEqualTo(2);
    assertThat(bus.unclaimedWrites()).isZero();
    assertThat(device.accesses).isEmpty();
  }

  @Test
  void busUnclaimedReadBelowEveryDevice() {
    bus.attach(0x3f8, 8, device);

    assertThat(bus.read(0, 1)).isEqualTo(-1L);
    assertThat(bus.unclaimedReads()).isEqualTo(1);
  }

  @Test
  void busUnclaimedWriteCounted() {
    bus.attach(0x3f8, 8, device);

    bus.write(0x2f8, 1, 0x41);
    bus.write(0x3f0, 2, 0x41);

    assertThat(bus.unclaimedWrites()).isEqualTo(2);
    assertThat(bus.unclaimedReads()).isZero();
    assertThat(device.accesses).isEmpty();
  }

  @Test
  void busAccessStraddlingEndUnclaimed() {
    bus.attach(0x3f8, 8, device);

    assertThat(bus.read(0x3fe, 4)).isEqualTo(-1L);
    bus.write(0x3ff, 2, 0);

    assertThat(device.accesses).isEmpty();
    assertThat(bus.unclaimedReads()).isEqualTo(1);
    assertThat(bus.unclaimedWrites()).isEqualTo(1);
  }

  @Test
  void busAccessStraddlingStartUnclaimed() {
    bus.attach(0x3f8, 8, device);

    assertThat(bus.read(0x3f7, 2)).isEqualTo(-1L);
    assertThat(device.accesses).isEmpty();
  }

  @Test
  void attachOverlapRejected() {
    bus.attach(0x1000, 0x100, device);
    RecordingDevice other = new RecordingDevice(0);

    assertThatThrownBy(() -> bus.attach(0x1080, 0x100, other))
        .as("overlapping the end")
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0x1080")
        .hasMessageContaining("0x1000");
    assertThatThrownBy(() -> bus.attach(0xf80, 0x100, other))
        .as("overlapping the start")
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> bus.attach(0x1010, 0x10, other))
        .as("inside")
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> bus.attach(0x800, 0x1000, other))
        .as("around")
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> bus.attach(0x1000, 0x100, other))
        .as("the same range")
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void attachAdjacentRangesAccepted() {
    RecordingDevice below = new RecordingDevice(1);
    RecordingDevice above = new RecordingDevice(2);
    bus.attach(0x1000, 0x100, device);

    bus.attach(0xf00, 0x100, below);
    bus.attach(0x1100, 0x100, above);

    assertThat(bus.read(0xfff, 1)).isEqualTo(1);
    assertThat(bus.read(0x1000, 1)).isEqualTo(0x42);
    assertThat(bus.read(0x1100, 1)).isEqualTo(2);
  }

  @Test
  void attachNonPositiveLengthRejected() {
    assertThatThrownBy(() -> bus.attach(0x1000, 0, device))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0");
  }
}
