package dev.kiln.vmm.devices.virtio.block;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.kiln.vmm.config.DriveConfig.CacheType;
import dev.kiln.vmm.devices.virtio.MmioTransport;
import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.memory.GuestRegion;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link MmioTransport} with a QueueSel value of 2^31 or more, which a driver can write because the
 * register is an unsigned 32-bit value. QueueNumMax must then read as 0, the value for a queue that
 * is not available (virtio 1.2, 4.2.2), and the driver must still be able to select another queue
 * or reset the device.
 */
// NOTE: MmioTransport stores QueueSel in an int and checks only `queueSelect < queues.size()`, so a
// negative value reaches List.get and every later register access throws
// IndexOutOfBoundsException. These tests fail until selectedQueue() rejects negative values.
class TransportQueueSelectTest {
  @TempDir Path dir;

  private BlockDevice device;
  private MmioTransport transport;

  @BeforeEach
  void createTransport() throws IOException {
    Path image = dir.resolve("disk.img");
    Files.write(image, new byte[4096]);
    device = new BlockDevice("rootfs", FileBackend.open(image, false), CacheType.UNSAFE, () -> {});
    GuestMemory memory =
        new GuestMemory(List.of(new GuestRegion(0, Arena.ofAuto().allocate(1 << 20, 4096))));
    transport = new MmioTransport("block test", device, memory, () -> {}, queue -> {});
  }

  @AfterEach
  void closeDevice() throws IOException {
    device.close();
  }

  @Test
  void highQueueSelectReadsNoQueue() {
    transport.write(TestDriver.QUEUE_SEL, 4, 0xffff_ffffL);

    assertThatCode(() -> transport.read(TestDriver.QUEUE_NUM_MAX, 4)).doesNotThrowAnyException();
    assertThat(transport.read(TestDriver.QUEUE_NUM_MAX, 4)).isZero();
  }

  @Test
  void highQueueSelectCanBeUndone() {
    transport.write(TestDriver.QUEUE_SEL, 4, 0x8000_0000L);

    assertThatCode(() -> transport.write(TestDriver.QUEUE_SEL, 4, 0)).doesNotThrowAnyException();
    assertThat(transport.read(TestDriver.QUEUE_NUM_MAX, 4)).isEqualTo(BlockDevice.QUEUE_SIZE);
  }

  @Test
  void highQueueSelectAllowsReset() {
    transport.write(TestDriver.QUEUE_SEL, 4, 0xffff_fffeL);

    assertThatCode(() -> transport.write(TestDriver.STATUS, 4, 0)).doesNotThrowAnyException();
  }
}
