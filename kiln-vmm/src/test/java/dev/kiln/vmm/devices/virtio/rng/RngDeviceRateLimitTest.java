package dev.kiln.vmm.devices.virtio.rng;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.sys.SyscallException;
import dev.kiln.sys.TimerFd;
import dev.kiln.vmm.devices.virtio.MmioTransport;
import dev.kiln.vmm.devices.virtio.VirtioSpec;
import dev.kiln.vmm.devices.virtio.block.TestDriver;
import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.memory.GuestRegion;
import dev.kiln.vmm.ratelimiter.RateLimiter;
import dev.kiln.vmm.ratelimiter.TokenBucket;
import java.lang.foreign.Arena;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** An {@link RngDevice} with a {@link RateLimiter} on a fake clock. */
class RngDeviceRateLimitTest {
  private static final long MILLI = 1_000_000L;
  private static final int QUEUE_SIZE = 16;
  private static final long FEATURES = VirtioSpec.feature(VirtioSpec.VIRTIO_F_VERSION_1);

  private final GuestMemory memory =
      new GuestMemory(List.of(new GuestRegion(0, Arena.ofAuto().allocate(16 << 20, 4096))));
  private final AtomicLong clock = new AtomicLong(1_000 * MILLI);
  private RngDevice device;
  private TestDriver driver;

  @AfterEach
  void closeLimiter() throws SyscallException {
    if (device != null) {
      device.rateLimiter().close();
    }
  }

  private void start(TokenBucket bandwidth, TokenBucket ops) throws SyscallException {
    RateLimiter limiter = new RateLimiter(bandwidth, ops, new TimerFd());
    device = new RngDevice(new SecureRandom(), limiter, () -> {});
    MmioTransport transport =
        new MmioTransport("rng test", device, memory, () -> {}, device::processQueue);
    driver = new TestDriver(memory, transport);
    driver.start(FEATURES, QUEUE_SIZE);
  }

  private TokenBucket bucket(long size, long refillMillis) {
    return new TokenBucket(size, 0, refillMillis, clock::get);
  }

  @Test
  void opsLimitLetsSizeRequestsThrough() throws SyscallException {
    start(null, bucket(2, 1000));
    for (int i = 0; i < 4; i++) {
      driver.submit(driver.writable(64));
    }

    device.processQueue(0);

    assertThat(driver.usedIndex()).isEqualTo(2);
    assertThat(device.requests()).isEqualTo(2);
    assertThat(device.rateLimiterThrottledEvents()).isEqualTo(1);
  }

  @Test
  void throttledRequestsCompleteAfterTimer() throws SyscallException {
    start(null, bucket(2, 1000));
    for (int i = 0; i < 4; i++) {
      driver.submit(driver.writable(64));
    }
    device.processQueue(0);

    clock.addAndGet(1000 * MILLI);
    device.onRateLimiterTimer();

    assertThat(driver.usedIndex()).isEqualTo(4);
    assertThat(driver.used(3).length()).isEqualTo(64);
    assertThat(device.bytesServed()).isEqualTo(256);
  }

  @Test
  void bandwidthLimitCountsRequestedBytes() throws SyscallException {
    start(bucket(100, 1000), null);
    driver.submit(driver.writable(60));
    driver.submit(driver.writable(60));

    device.processQueue(0);

    assertThat(driver.usedIndex()).isEqualTo(1);
    assertThat(device.bytesServed()).isEqualTo(60);
    // 20 missing bytes at 100 bytes per second take 200 ms.
    assertThat(device.rateLimiter().timerDelayNanos()).isEqualTo(200 * MILLI);
  }
}
