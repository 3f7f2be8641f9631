package dev.kiln.vmm.devices.virtio.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.kiln.sys.SyscallException;
import dev.kiln.sys.Tap;
import dev.kiln.sys.TimerFd;
import dev.kiln.vmm.devices.virtio.MmioTransport;
import dev.kiln.vmm.devices.virtio.VirtioSpec;
import dev.kiln.vmm.devices.virtio.block.TestDriver;
import dev.kiln.vmm.devices.virtio.block.TestDriver.Buffer;
import dev.kiln.vmm.devices.virtio.block.TestDriver.Used;
import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.memory.GuestRegion;
import dev.kiln.vmm.ratelimiter.RateLimiter;
import dev.kiln.vmm.ratelimiter.TokenBucket;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Drives a {@link NetDevice} through a real {@link MmioTransport} with queues laid out by hand, as
 * a guest driver would, against a {@link FakeTap}.
 */
class NetDeviceTest {
  private static final int QUEUE_SIZE = 256;
  private static final long ALL = VirtioNetSpec.BASE_FEATURES;
  private static final long NO_MERGE =
      ALL & ~VirtioSpec.feature(VirtioNetSpec.VIRTIO_NET_F_MRG_RXBUF);
  private static final long PLAIN =
      VirtioSpec.feature(VirtioSpec.VIRTIO_F_VERSION_1)
          | VirtioSpec.feature(VirtioNetSpec.VIRTIO_NET_F_MRG_RXBUF);
  private static final byte[] MAC = {6, 0, 10, 77, 0, 2};
  private static final long MILLI = 1_000_000L;

  private final GuestMemory memory =
      new GuestMemory(List.of(new GuestRegion(0, Arena.ofAuto().allocate(64 << 20, 4096))));
  private final AtomicInteger interrupts = new AtomicInteger();
  private final AtomicInteger resetRequests = new AtomicInteger();
  private final AtomicLong clock = new AtomicLong(1_000 * MILLI);
  private final FakeTap tap = new FakeTap();
  private final Map<Integer, List<Buffer>> rxChains = new HashMap<>();
  private NetDevice device;
  private MmioTransport transport;
  private TestDriver driver;

  private void create(byte[] mac, Integer mtu, RateLimiter rx, RateLimiter tx) {
    AtomicReference<MmioTransport> ref = new AtomicReference<>();
    device =
        new NetDevice(
            "eth0",
            tap,
            mac,
            mtu,
            rx,
            tx,
            () -> {
              resetRequests.incrementAndGet();
              ref.get().fail("test device gave up");
            });
    transport = new MmioTransport("net test", device, memory, interrupts::incrementAndGet, q -> {});
    ref.set(transport);
    driver = new TestDriver(memory, transport);
  }

  private void start(long features) {
    create(MAC, null, null, null);
    driver.start(features, QUEUE_SIZE, 2);
  }

  private long metric(String name) {
    return device.metrics().snapshot().get(name);
  }

  private static byte[] frame(int length, long seed) {
    byte[] data = new byte[length];
    new Random(seed).nextBytes(data);
    Arrays.fill(data, 0, VirtioNetSpec.HEADER_SIZE, (byte) 0);
    data[0] = VirtioNetHeader.F_DATA_VALID;
    return data;
  }

  private int submitRx(Buffer... buffers) {
    driver.selectQueue(NetDevice.RX_QUEUE);
    int head = driver.submit(buffers);
    rxChains.put(head, List.of(buffers));
    return head;
  }

  /** Reads back the frame that starts at used ring entry {@code first}; returns it and the next. */
  private record Received(byte[] frame, int next) {}

  private Received received(int first, Set<Integer> skipHeads) {
    driver.selectQueue(NetDevice.RX_QUEUE);
    int i = first;
    while (skipHeads.contains(driver.used(i).head())) {
      assertThat(driver.used(i).length()).isZero();
      i++;
    }
    Used head = driver.used(i);
    byte[] firstBytes = gather(rxChains.get(head.head()), head.length());
    int numBuffers = (firstBytes[10] & 0xff) | (firstBytes[11] & 0xff) << 8;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int k = 0; k < numBuffers; k++) {
      Used used = driver.used(i + k);
      out.writeBytes(gather(rxChains.get(used.head()), used.length()));
    }
    return new Received(out.toByteArray(), i + numBuffers);
  }

  private byte[] gather(List<Buffer> buffers, int length) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (Buffer b : buffers) {
      int n = Math.min(b.length(), length - out.size());
      if (n <= 0) {
        break;
      }
      out.writeBytes(memory.read(b.address(), n));
    }
    return out.toByteArray();
  }

  private static byte[] withNumBuffers(byte[] frame, int count) {
    byte[] copy = frame.clone();
    copy[10] = (byte) count;
    copy[11] = (byte) (count >>> 8);
    return copy;
  }

  // Discovery and configuration

  @Test
  void offersFirecrackerFeaturesAndMacOnlyWhenConfigured() {
    create(null, null, null, null);
    long without = driver.deviceFeatures();
    assertThat(without).isEqualTo(VirtioNetSpec.BASE_FEATURES);
    assertThat(VirtioNetSpec.has(without, VirtioNetSpec.VIRTIO_NET_F_MAC)).isFalse();

    create(MAC, 9000, null, null);
    long with = driver.deviceFeatures();
    assertThat(VirtioNetSpec.has(with, VirtioNetSpec.VIRTIO_NET_F_MAC)).isTrue();
    assertThat(VirtioNetSpec.has(with, VirtioNetSpec.VIRTIO_NET_F_MTU)).isTrue();
    assertThat(VirtioNetSpec.has(with, VirtioNetSpec.VIRTIO_NET_F_STATUS)).isFalse();
    assertThat(device.deviceType()).isEqualTo(VirtioSpec.DEVICE_ID_NET);
    assertThat(device.queues()).hasSize(2);
  }

  @Test
  void configSpaceHoldsMacStatusAndMtu() {
    create(MAC, 9000, null, null);
    assertThat(device.readConfig(0, 4)).isEqualTo(0x4d0a0006L);
    assertThat(device.readConfig(4, 2)).isEqualTo(0x0200L);
    assertThat(device.readConfig(VirtioNetSpec.CONFIG_STATUS, 2))
        .isEqualTo(VirtioNetSpec.VIRTIO_NET_S_LINK_UP);
    assertThat(device.readConfig(VirtioNetSpec.CONFIG_MTU, 2)).isEqualTo(9000);
    assertThat(device.readConfig(VirtioNetSpec.CONFIG_SIZE, 4)).isZero();
    assertThat(metric("cfg_fails")).isEqualTo(1);

    device.writeConfig(0, 1, 0xff);
    assertThat(device.readConfig(0, 1)).isEqualTo(6);
    assertThat(metric("cfg_fails")).isEqualTo(2);
  }

  @Test
  void activationSetsTapOffloadsFromAcceptedFeaturesAndWatchesTap() {
    start(ALL);
    assertThat(tap.offload)
        .isEqualTo(Tap.TUN_F_CSUM | Tap.TUN_F_TSO4 | Tap.TUN_F_TSO6 | Tap.TUN_F_UFO);
    assertThat(tap.watched).isTrue();

    start(PLAIN);
    assertThat(tap.offload).isZero();
  }

  @Test
  void resetStopsWatchingTheTap() {
    start(ALL);
    transport.write(0x070, 4, 0);
    assertThat(tap.watched).isFalse();
    tap.incoming.add(frame(100, 1));
    device.onTapReadable();
    assertThat(tap.reads).isZero();
    assertThat(tap.watched).isFalse();
  }

  // Transmit

  @Test
  void transmitGathersHeaderAndDataIntoOneWrite() {
    start(ALL);
    byte[] bytes = frame(1514 + 12, 7);
    driver.selectQueue(NetDevice.TX_QUEUE);
    int head =
        driver.submit(
            driver.readable(Arrays.copyOfRange(bytes, 0, 12)),
            driver.readable(Arrays.copyOfRange(bytes, 12, 100)),
            driver.readable(new byte[0]),
            driver.readable(Arrays.copyOfRange(bytes, 100, bytes.length)));

    device.processQueue(NetDevice.TX_QUEUE);

    assertThat(tap.written).hasSize(1);
    assertThat(tap.written.get(0)).isEqualTo(bytes);
    assertThat(tap.segmentCounts.get(0)).isEqualTo(3);
    assertThat(driver.usedIndex()).isEqualTo(1);
    assertThat(driver.used(0)).isEqualTo(new Used(head, 0));
    assertThat(interrupts.get()).isEqualTo(1);
    assertThat(metric("tx_packets_count")).isEqualTo(1);
    assertThat(metric("tx_bytes_count")).isEqualTo(bytes.length);
    assertThat(metric("tx_queue_event_count")).isEqualTo(1);
  }

  @Test
  void transmitDropsHostileChainsAndGoesOn() {
    start(ALL);
    driver.selectQueue(NetDevice.TX_QUEUE);
    driver.submit(driver.writable(100));
    driver.submit(driver.readable(new byte[11]));
    driver.submit(driver.readable(new byte[40000]), driver.readable(new byte[30000]));
    driver.submit(driver.readable(frame(60, 3)));

    device.processQueue(NetDevice.TX_QUEUE);

    assertThat(tap.written).hasSize(1);
    assertThat(driver.usedIndex()).isEqualTo(4);
    assertThat(metric("tx_fails")).isEqualTo(1);
    assertThat(metric("tx_malformed_frames")).isEqualTo(2);
    assertThat(metric("tx_packets_count")).isEqualTo(1);
    assertThat(resetRequests.get()).isZero();
  }

  @Test
  void transmitWriteErrorsDropTheFrame() {
    start(ALL);
    tap.writeError = new SyscallException("writev(fd 9, 1 buffers)", 22);
    driver.selectQueue(NetDevice.TX_QUEUE);
    driver.submit(driver.readable(frame(60, 3)));
    device.processQueue(NetDevice.TX_QUEUE);
    tap.writeError = null;
    tap.full = true;
    driver.submit(driver.readable(frame(60, 4)));
    device.processQueue(NetDevice.TX_QUEUE);

    assertThat(driver.usedIndex()).isEqualTo(2);
    assertThat(metric("tap_write_fails")).isEqualTo(2);
    assertThat(metric("tx_packets_count")).isZero();
  }

  @Test
  void emptyTransmitNotificationCounted() {
    start(ALL);
    device.processQueue(NetDevice.TX_QUEUE);
    assertThat(metric("no_tx_avail_buffer")).isEqualTo(1);
  }

  @Test
  void brokenRingRulesNeedReset() {
    start(ALL);
    driver.selectQueue(NetDevice.TX_QUEUE);
    driver.submit(driver.writable(20), driver.readable(new byte[20]));

    assertThatCode(() -> device.processQueue(NetDevice.TX_QUEUE)).doesNotThrowAnyException();
    assertThat(resetRequests.get()).isEqualTo(1);
    assertThat(driver.deviceStatus() & VirtioSpec.STATUS_DEVICE_NEEDS_RESET).isNotZero();
    assertThat(metric("event_fails")).isEqualTo(1);
    assertThat(tap.watched).isFalse();

    driver.submit(driver.readable(frame(60, 1)));
    device.processQueue(NetDevice.TX_QUEUE);
    assertThat(tap.written).isEmpty();
  }

  // Receive

  @Test
  void receiveWaitsInTheTapWithoutBuffersAndResumesOnNotification() {
    start(ALL);
    tap.incoming.add(frame(200, 1));

    device.onTapReadable();

    assertThat(tap.reads).isZero();
    assertThat(tap.watched).isFalse();
    assertThat(metric("no_rx_avail_buffer")).isEqualTo(1);

    submitRx(driver.writable(4096));
    device.processQueue(NetDevice.RX_QUEUE);

    assertThat(driver.usedIndex()).isEqualTo(1);
    assertThat(received(0, Set.of()).frame()).isEqualTo(withNumBuffers(frame(200, 1), 1));
    // The one buffer is used, so the TAP waits again.
    assertThat(tap.watched).isFalse();
    submitRx(driver.writable(4096));
    device.processQueue(NetDevice.RX_QUEUE);
    assertThat(tap.watched).isTrue();
    assertThat(interrupts.get()).isEqualTo(1);
    assertThat(metric("rx_packets_count")).isEqualTo(1);
    assertThat(metric("rx_bytes_count")).isEqualTo(200);
  }

  @Test
  void mergeableFrameHeldUntilEnoughBuffers() {
    start(ALL);
    submitRx(driver.writable(1500));
    byte[] big = frame(5000, 9);
    tap.incoming.add(big);

    device.onTapReadable();

    assertThat(tap.reads).isEqualTo(1);
    assertThat(driver.usedIndex()).isZero();
    assertThat(tap.watched).isFalse();

    submitRx(driver.writable(1500));
    submitRx(driver.writable(1000), driver.writable(500));
    device.processQueue(NetDevice.RX_QUEUE);
    assertThat(driver.usedIndex()).isZero();

    submitRx(driver.writable(1500));
    device.processQueue(NetDevice.RX_QUEUE);

    assertThat(driver.usedIndex()).isEqualTo(4);
    Received got = received(0, Set.of());
    assertThat(got.frame()).isEqualTo(withNumBuffers(big, 4));
    assertThat(driver.used(3).length()).isEqualTo(500);
    // Every buffer is used now, so the TAP waits for the next ones.
    assertThat(tap.watched).isFalse();
  }

  @Test
  void mergeableFillingOverRandomChainLayouts() {
    Random random = new Random(42);
    for (int round = 0; round < 20; round++) {
      rxChains.clear();
      tap.incoming.clear();
      start(ALL);
      Set<Integer> bad = new HashSet<>();
      // At most 4 descriptors a chain, so that all fit in the 256-entry table.
      int chainCount = 20 + random.nextInt(40);
      for (int c = 0; c < chainCount; c++) {
        int descriptors = 1 + random.nextInt(4);
        Buffer[] buffers = new Buffer[descriptors];
        for (int d = 0; d < descriptors; d++) {
          buffers[d] = driver.writable(1 + random.nextInt(random.nextBoolean() ? 64 : 4096));
        }
        boolean tooSmall = Arrays.stream(buffers).mapToInt(Buffer::length).sum() < 12;
        int head = submitRx(buffers);
        if (tooSmall) {
          bad.add(head);
        }
      }
      List<byte[]> frames = new ArrayList<>();
      for (int f = 0; f < 30; f++) {
        int length =
            random.nextInt(4) == 0
                ? VirtioNetSpec.HEADER_SIZE + random.nextInt(60)
                : VirtioNetSpec.HEADER_SIZE + 1 + random.nextInt(20000);
        frames.add(frame(length, random.nextLong()));
      }
      tap.incoming.addAll(frames);

      device.onTapReadable();

      int delivered = (int) metric("rx_packets_count");
      assertThat(delivered).isGreaterThan(0);
      int next = 0;
      for (int f = 0; f < delivered; f++) {
        Received got = received(next, bad);
        byte[] expected = frames.get(f);
        int numBuffers = (got.frame()[10] & 0xff) | (got.frame()[11] & 0xff) << 8;
        assertThat(got.frame())
            .as("round %d frame %d", round, f)
            .isEqualTo(withNumBuffers(expected, numBuffers));
        next = got.next();
      }
      if (delivered < frames.size()) {
        // The rest wait in the TAP, one perhaps in the device.
        assertThat(tap.incoming.size())
            .isBetween(frames.size() - delivered - 1, frames.size() - delivered);
        assertThat(tap.watched).isFalse();
      }
      if (delivered < frames.size()) {
        assertThat(metric("rx_fails")).isEqualTo(bad.size());
      } else {
        assertThat(metric("rx_fails")).isLessThanOrEqualTo(bad.size());
      }
      assertThat(resetRequests.get()).isZero();
    }
  }

  @Test
  void withoutMergeableBuffersTooSmallChainsAreReturnedUnused() {
    start(NO_MERGE);
    int small = submitRx(driver.writable(1500));
    int readable = submitRx(driver.readable(new byte[70000]));
    int good = submitRx(driver.writable(12), driver.writable(65550));
    byte[] bytes = frame(30000, 5);
    tap.incoming.add(bytes);

    device.onTapReadable();

    assertThat(driver.usedIndex()).isEqualTo(3);
    assertThat(driver.used(0)).isEqualTo(new Used(small, 0));
    assertThat(driver.used(1)).isEqualTo(new Used(readable, 0));
    assertThat(driver.used(2)).isEqualTo(new Used(good, 30000));
    assertThat(received(2, Set.of()).frame()).isEqualTo(withNumBuffers(bytes, 1));
    assertThat(metric("rx_fails")).isEqualTo(2);
  }

  @Test
  void frameLargerThanTheWholeRingIsDropped() {
    create(MAC, null, null, null);
    driver.start(ALL, 4, 2);
    for (int i = 0; i < 4; i++) {
      submitRx(driver.writable(100));
    }
    tap.incoming.add(frame(1000, 1));
    tap.incoming.add(frame(300, 2));

    device.onTapReadable();

    assertThat(metric("rx_fails")).isEqualTo(1);
    assertThat(metric("rx_packets_count")).isEqualTo(1);
    assertThat(received(0, Set.of()).frame()).isEqualTo(withNumBuffers(frame(300, 2), 3));
  }

  @Test
  void shortFramesFromTheTapAreDropped() {
    start(ALL);
    submitRx(driver.writable(2000));
    tap.incoming.add(new byte[5]);
    tap.incoming.add(frame(64, 3));

    device.onTapReadable();

    assertThat(metric("rx_fails")).isEqualTo(1);
    assertThat(metric("rx_packets_count")).isEqualTo(1);
  }

  @Test
  void tapReadErrorStopsWatchingUntilNextNotification() {
    start(ALL);
    submitRx(driver.writable(2000));
    tap.readError = new SyscallException("read(fd 9)", 77);

    device.onTapReadable();

    assertThat(tap.watched).isFalse();
    assertThat(metric("tap_read_fails")).isEqualTo(1);
    tap.readError = null;
    tap.incoming.add(frame(64, 3));
    device.processQueue(NetDevice.RX_QUEUE);
    assertThat(metric("rx_packets_count")).isEqualTo(1);
  }

  @Test
  void oneEventMovesABoundedNumberOfFrames() {
    start(ALL);
    for (int i = 0; i < 200; i++) {
      submitRx(driver.writable(200));
      tap.incoming.add(frame(100, i));
    }

    device.onTapReadable();

    assertThat(metric("rx_packets_count")).isEqualTo(NetDevice.RX_FRAMES_PER_EVENT);
    assertThat(tap.watched).isTrue();
    device.onTapReadable();
    assertThat(metric("rx_packets_count")).isEqualTo(200);
  }

  // Rate limiters

  @Test
  void transmitLimiterHoldsFramesUntilItsTimer() throws SyscallException {
    RateLimiter tx = new RateLimiter(null, new TokenBucket(1, 0, 100, clock::get), new TimerFd());
    create(MAC, null, null, tx);
    driver.start(ALL, QUEUE_SIZE, 2);
    driver.selectQueue(NetDevice.TX_QUEUE);
    driver.submit(driver.readable(frame(60, 1)));
    driver.submit(driver.readable(frame(60, 2)));

    device.processQueue(NetDevice.TX_QUEUE);
    assertThat(tap.written).hasSize(1);
    assertThat(metric("tx_rate_limiter_throttled")).isEqualTo(1);

    clock.addAndGet(100 * MILLI);
    device.onTxRateLimiterTimer();
    assertThat(tap.written).hasSize(2);
    assertThat(metric("tx_rate_limiter_event_count")).isEqualTo(1);
    tx.close();
  }

  @Test
  void receiveLimiterHoldsFramesUntilItsTimer() throws SyscallException {
    RateLimiter rx =
        new RateLimiter(new TokenBucket(1000, 0, 100, clock::get), null, new TimerFd());
    create(MAC, null, rx, null);
    driver.start(ALL, QUEUE_SIZE, 2);
    for (int i = 0; i < 4; i++) {
      submitRx(driver.writable(2000));
    }
    tap.incoming.add(frame(600, 1));
    tap.incoming.add(frame(600, 2));

    device.onTapReadable();
    assertThat(metric("rx_packets_count")).isEqualTo(1);
    assertThat(metric("rx_rate_limiter_throttled")).isEqualTo(1);
    assertThat(tap.watched).isFalse();

    clock.addAndGet(100 * MILLI);
    device.onRxRateLimiterTimer();
    assertThat(metric("rx_packets_count")).isEqualTo(2);
    assertThat(tap.watched).isTrue();
    rx.close();
  }

  @Test
  void closeClosesTheTap() throws IOException {
    start(ALL);
    device.close();
    assertThat(tap.closed).isTrue();
  }

  @Test
  void headerRoundTrips() {
    MemorySegment segment = Arena.ofAuto().allocate(12);
    VirtioNetHeader header =
        new VirtioNetHeader(
            VirtioNetHeader.F_NEEDS_CSUM, VirtioNetHeader.GSO_TCPV4, 54, 1448, 34, 16, 3);
    header.write(segment);
    assertThat(VirtioNetHeader.read(segment)).isEqualTo(header);
    assertThat(segment.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
        .containsExactly(1, 1, 54, 0, (byte) 0xa8, 5, 34, 0, 16, 0, 3, 0);
  }
}
