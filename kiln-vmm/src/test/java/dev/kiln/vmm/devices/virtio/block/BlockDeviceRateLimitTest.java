package dev.kiln.vmm.devices.virtio.block;

import static dev.kiln.vmm.devices.virtio.block.VirtioBlockSpec.VIRTIO_BLK_S_OK;
import static dev.kiln.vmm.devices.virtio.block.VirtioBlockSpec.VIRTIO_BLK_T_GET_ID;
import static dev.kiln.vmm.devices.virtio.block.VirtioBlockSpec.VIRTIO_BLK_T_IN;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.sys.TimerFd;
import dev.kiln.vmm.config.DriveConfig.CacheType;
import dev.kiln.vmm.devices.virtio.MmioTransport;
import dev.kiln.vmm.devices.virtio.VirtioSpec;
import dev.kiln.vmm.devices.virtio.block.TestDriver.Buffer;
import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.memory.GuestRegion;
import dev.kiln.vmm.ratelimiter.RateLimiter;
import dev.kiln.vmm.ratelimiter.TokenBucket;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@link BlockDevice} with a {@link RateLimiter} on a fake clock: requests the limiter holds back
 * stay in the available ring until {@link BlockDevice#onRateLimiterTimer} runs.
 */
class BlockDeviceRateLimitTest {
  private static final long MILLI = 1_000_000L;
  private static final int QUEUE_SIZE = 16;
  private static final long FEATURES = VirtioSpec.feature(VirtioSpec.VIRTIO_F_VERSION_1);

  @TempDir Path dir;

  private final GuestMemory memory =
      new GuestMemory(List.of(new GuestRegion(0, Arena.ofAuto().allocate(16 << 20, 4096))));
  private final AtomicLong clock = new AtomicLong(1_000 * MILLI);
  private Path image;
  private BlockDevice device;
  private TestDriver driver;

  @BeforeEach
  void writeImage() throws IOException {
    image = dir.resolve("disk.img");
    Files.write(image, new byte[64 * 512]);
  }

  @AfterEach
  void closeDevice() throws IOException {
    if (device != null) {
      device.close();
    }
  }

  private void start(TokenBucket bandwidth, TokenBucket ops) throws IOException {
    RateLimiter limiter = new RateLimiter(bandwidth, ops, new TimerFd());
    device =
        new BlockDevice(
            "rootfs", FileBackend.open(image, false), CacheType.UNSAFE, limiter, () -> {});
    MmioTransport transport =
        new MmioTransport("block test", device, memory, () -> {}, device::processQueue);
    driver = new TestDriver(memory, transport);
    driver.start(FEATURES, QUEUE_SIZE);
  }

  private TokenBucket bucket(long size, long refillMillis) {
    return new TokenBucket(size, 0, refillMillis, clock::get);
  }

  private List<Buffer> submitReads(int count, int length) {
    List<Buffer> statuses = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Buffer status = driver.status();
      driver.submit(driver.header(VIRTIO_BLK_T_IN, i), driver.writable(length), status);
      statuses.add(status);
    }
    return statuses;
  }

  private long metric(String name) {
    return device.metrics().snapshot().get(name);
  }

  @Test
  void opsLimitLetsSizeRequestsThrough() throws IOException {
    start(null, bucket(3, 1000));
    submitReads(5, 512);

    device.processQueue(0);

    assertThat(driver.usedIndex()).isEqualTo(3);
    assertThat(metric("read_count")).isEqualTo(3);
    assertThat(metric("rate_limiter_throttled_events")).isEqualTo(1);
    assertThat(device.rateLimiter().blocked()).isTrue();
  }

  @Test
  void throttledRequestsCompleteAfterTimer() throws IOException {
    start(null, bucket(3, 1000));
    List<Buffer> statuses = submitReads(5, 512);
    device.processQueue(0);

    clock.addAndGet(1000 * MILLI);
    device.onRateLimiterTimer();

    assertThat(driver.usedIndex()).isEqualTo(5);
    for (Buffer status : statuses) {
      assertThat(driver.statusOf(status)).isEqualTo(VIRTIO_BLK_S_OK);
    }
    assertThat(metric("rate_limiter_event_count")).isEqualTo(1);
    assertThat(metric("read_count")).isEqualTo(5);
  }

  @Test
  void notificationWhileBlockedHandlesNothing() throws IOException {
    start(null, bucket(1, 1000));
    submitReads(3, 512);
    device.processQueue(0);

    clock.addAndGet(5000 * MILLI);
    device.processQueue(0);

    assertThat(driver.usedIndex()).isEqualTo(1);
    assertThat(metric("rate_limiter_throttled_events")).isEqualTo(2);
  }

  @Test
  void timerBeforeRefillKeepsRequestsQueued() throws IOException {
    start(null, bucket(2, 1000));
    submitReads(4, 512);
    device.processQueue(0);

    clock.addAndGet(499 * MILLI);
    device.onRateLimiterTimer();

    assertThat(driver.usedIndex()).isEqualTo(2);
    assertThat(device.rateLimiter().blocked()).isTrue();
    assertThat(device.rateLimiter().timerDelayNanos()).isEqualTo(MILLI);
  }

  @Test
  void bandwidthLimitCountsDataBytes() throws IOException {
    start(bucket(2048, 1000), null);
    submitReads(3, 1024);

    device.processQueue(0);

    assertThat(driver.usedIndex()).isEqualTo(2);
    assertThat(metric("read_bytes")).isEqualTo(2048);
    // 1024 bytes at 2048 bytes per second take half a second.
    assertThat(device.rateLimiter().timerDelayNanos()).isEqualTo(500 * MILLI);
  }

  @Test
  void getIdTakesNoBandwidth() throws IOException {
    start(bucket(1024, 1000), null);
    submitReads(1, 1024);
    Buffer idStatus = driver.status();
    driver.submit(driver.header(VIRTIO_BLK_T_GET_ID, 0), driver.writable(20), idStatus);

    device.processQueue(0);

    assertThat(driver.usedIndex()).isEqualTo(2);
    assertThat(driver.statusOf(idStatus)).isEqualTo(VIRTIO_BLK_S_OK);
    assertThat(metric("rate_limiter_throttled_events")).isZero();
  }

  @Test
  void oversizedReadPassesThenBlocks() throws IOException {
    start(bucket(1024, 1000), null);
    submitReads(2, 4096);

    device.processQueue(0);

    assertThat(driver.usedIndex()).isEqualTo(1);
    assertThat(metric("read_bytes")).isEqualTo(4096);
    assertThat(device.rateLimiter().timerDelayNanos()).isEqualTo(3000 * MILLI);
  }
}
