package dev.kiln.vmm.devices.virtio.block;

import static dev.kiln.vmm.devices.virtio.block.VirtioBlockSpec.VIRTIO_BLK_S_OK;
import static dev.kiln.vmm.devices.virtio.block.VirtioBlockSpec.VIRTIO_BLK_T_IN;
import static dev.kiln.vmm.devices.virtio.block.VirtioBlockSpec.VIRTIO_BLK_T_OUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.sys.Errno;
import dev.kiln.sys.SyscallException;
import dev.kiln.vmm.config.DriveConfig;
import dev.kiln.vmm.devices.virtio.block.TestDriver.Buffer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Runs every {@link BlockDeviceTest} case on the Async engine with a real io_uring, so that each
 * request gets the same status, used length, data and counters as with the Sync engine, then adds
 * the cases only the Async engine has: a full ring, completions, and reset or close with requests
 * in flight.
 */
class BlockDeviceAsyncTest extends BlockDeviceTest {
  private int ringEntries = AsyncEngine.RING_ENTRIES;
  private AsyncEngine engine;

  @Override
  BlockIoEngine openEngine(FileBackend backend) throws IOException {
    engine = AsyncEngine.open(backend.path(), backend.readOnly(), ringEntries);
    return engine;
  }

  @Override
  void awaitCompletions() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (engine.inFlight() > 0) {
      assertThat(System.nanoTime()).as("io_uring requests finished in time").isLessThan(deadline);
      device.onEngineCompletion();
      Thread.onSpinWait();
    }
  }

  /** Submits {@code count} 512-byte reads of sectors 0, 1, ... and returns their status buffers. */
  private List<Buffer> submitReads(int count) {
    List<Buffer> statuses = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      // Data and status share one device-writable buffer, so a request takes two descriptors.
      Buffer data = driver.writable(513);
      driver.submit(driver.header(VIRTIO_BLK_T_IN, i), data);
      statuses.add(new Buffer(data.address() + 512, 1, true));
    }
    return statuses;
  }

  @Test
  void engineKindIsAsync() throws IOException {
    start();

    assertThat(device.ioEngine()).isEqualTo(DriveConfig.IoEngine.ASYNC);
    assertThat(device.completionEvent()).isNotNull();
  }

  @Test
  void fullRingStopsQueueUntilCompletions() throws IOException {
    ringEntries = 4;
    start();
    List<Buffer> statuses = submitReads(7);

    device.processQueue(0);

    assertThat(engine.inFlight()).isEqualTo(4);
    assertThat(driver.usedIndex()).isZero();
    assertThat(metric("io_engine_throttled_events")).isEqualTo(1);

    awaitCompletions();

    assertThat(driver.usedIndex()).isEqualTo(7);
    for (int i = 0; i < 7; i++) {
      assertThat(driver.statusOf(statuses.get(i))).as("status of read %d", i).isZero();
      long data = statuses.get(i).address() - 512;
      assertThat(memory.read(data, 512))
          .as("data of read %d", i)
          .isEqualTo(Arrays.copyOfRange(imageBytes, 512 * i, 512 * (i + 1)));
    }
    assertThat(metric("read_count")).isEqualTo(7);
    assertThat(metric("read_bytes")).isEqualTo(7 * 512);
    assertThat(metric("io_engine_throttled_events")).isGreaterThanOrEqualTo(1);
    assertThat(interrupts.get()).isPositive();
  }

  @Test
  void completionSignalsEventFd() throws Exception {
    start();
    submitReads(1);

    device.processQueue(0);

    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    long signals = 0;
    while (signals == 0 && System.nanoTime() < deadline) {
      signals = device.completionEvent().drain();
    }
    assertThat(signals).isPositive();
    assertThat(driver.usedIndex()).isZero();
    device.onEngineCompletion();
    assertThat(driver.usedIndex()).isEqualTo(1);
    assertThat(driver.used(0).length()).isEqualTo(513);
  }

  @Test
  void resetWaitsForRequestsInFlight() throws IOException {
    start();
    byte[] data = pattern(512, 9);
    List<Buffer> statuses = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Buffer status = driver.status();
      statuses.add(status);
      driver.submit(driver.header(VIRTIO_BLK_T_OUT, 10 + i), driver.readable(data), status);
    }
    device.processQueue(0);
    assertThat(engine.inFlight()).isEqualTo(3);

    driver.write(TestDriver.STATUS, 0);

    assertThat(engine.inFlight()).isZero();
    assertThat(driver.usedIndex()).isZero();
    for (Buffer status : statuses) {
      assertThat(driver.statusOf(status)).isEqualTo(0xff);
    }
    assertThat(fileRange(12 * 512, 512)).isEqualTo(data);
    device.onEngineCompletion();
    assertThat(driver.usedIndex()).isZero();
  }

  @Test
  void deviceWorksAgainAfterReset() throws IOException {
    start();
    submitReads(2);
    device.processQueue(0);
    driver.write(TestDriver.STATUS, 0);

    driver.start(BASE_FEATURES, QUEUE_SIZE);
    List<Buffer> statuses = submitReads(1);
    processQueue();

    assertThat(driver.usedIndex()).isEqualTo(1);
    assertThat(driver.statusOf(statuses.getFirst())).isEqualTo(VIRTIO_BLK_S_OK);
  }

  @Test
  void closeWaitsForRequestsInFlight() throws IOException {
    start();
    Buffer status = driver.status();
    driver.submit(driver.header(VIRTIO_BLK_T_OUT, 20), driver.readable(pattern(4096, 3)), status);
    device.processQueue(0);

    device.close();

    assertThat(engine.inFlight()).isZero();
    assertThat(fileRange(20 * 512, 4096)).isEqualTo(pattern(4096, 3));
  }

  @Test
  void unavailableIoUringMessagesNameTheFix() {
    String noKernelSupport =
        AsyncEngine.unavailableMessage(
            new SyscallException("io_uring_setup(128 entries)", Errno.ENOSYS));
    String refused =
        AsyncEngine.unavailableMessage(
            new SyscallException("io_uring_setup(128 entries)", Errno.EPERM));

    assertThat(noKernelSupport).contains("ENOSYS");
    assertThat(noKernelSupport).contains("set `io_engine` to Sync");
    assertThat(refused).contains("EPERM");
    assertThat(refused).contains("set `io_engine` to Sync");
  }

  @Test
  void missingFileFailsToOpen() {
    var missing = dir.resolve("missing.img");

    assertThatThrownBy(() -> AsyncEngine.open(missing, false))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("missing.img");
  }
}
