package dev.kiln.vmm.devices.virtio.balloon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.sys.SyscallException;
import dev.kiln.vmm.config.BalloonConfig;
import dev.kiln.vmm.config.HugePages;
import dev.kiln.vmm.devices.virtio.MmioTransport;
import dev.kiln.vmm.devices.virtio.VirtioSpec;
import dev.kiln.vmm.devices.virtio.block.TestDriver;
import dev.kiln.vmm.devices.virtio.block.TestDriver.Buffer;
import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.memory.GuestMemoryAllocator;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Drives a {@link BalloonDevice} through a real {@link MmioTransport}, with guest memory mapped the
 * way Kiln maps guest RAM, so that inflating really gives pages back to the host.
 */
class BalloonDeviceTest {
  private static final long GUEST_BYTES = 16 << 20;
  private static final int QUEUE_SIZE = 16;
  private static final int CONFIG = 0x100;
  private static final long VERSION_1 = VirtioSpec.feature(VirtioSpec.VIRTIO_F_VERSION_1);
  private static final long STATS_VQ =
      VirtioSpec.feature(VirtioBalloonSpec.VIRTIO_BALLOON_F_STATS_VQ);
  private static final long DEFLATE_ON_OOM =
      VirtioSpec.feature(VirtioBalloonSpec.VIRTIO_BALLOON_F_DEFLATE_ON_OOM);

  /** Page frame numbers well above the test driver's rings and heap. */
  private static final long FIRST_PFN = 0x200;

  private GuestMemory memory;
  private final AtomicInteger interrupts = new AtomicInteger();
  private final AtomicInteger resetRequests = new AtomicInteger();
  private BalloonDevice device;
  private MmioTransport transport;
  private TestDriver driver;

  @BeforeEach
  void mapMemory() throws SyscallException {
    memory = GuestMemoryAllocator.allocate(GUEST_BYTES, HugePages.NONE);
  }

  @AfterEach
  void unmapMemory() throws SyscallException {
    GuestMemoryAllocator.release(memory);
  }

  private void create(int amountMib, boolean deflateOnOom, int statsInterval) {
    AtomicReference<MmioTransport> transportRef = new AtomicReference<>();
    device =
        new BalloonDevice(
            new BalloonConfig(amountMib, deflateOnOom, statsInterval, null, null),
            () -> {
              resetRequests.incrementAndGet();
              transportRef.get().fail("test device gave up");
            });
    transport =
        new MmioTransport(
            "balloon test", device, memory, interrupts::incrementAndGet, device::processQueue);
    transportRef.set(transport);
    driver = new TestDriver(memory, transport);
  }

  /** Creates the device without statistics and starts its two queues. */
  private void start(int amountMib) {
    create(amountMib, false, 0);
    driver.start(VERSION_1, QUEUE_SIZE, 2);
  }

  /** Allocates a buffer of le32 page frame numbers, as Linux's balloon driver sends them. */
  private Buffer pfns(long... pfns) {
    byte[] bytes = new byte[pfns.length * 4];
    for (int i = 0; i < pfns.length; i++) {
      for (int b = 0; b < 4; b++) {
        bytes[i * 4 + b] = (byte) (pfns[i] >>> (8 * b));
      }
    }
    return driver.readable(bytes);
  }

  /** Allocates a statistics buffer of (le16 tag, le64 value) pairs. */
  private Buffer statsBuffer(long... tagValuePairs) {
    byte[] bytes = new byte[tagValuePairs.length / 2 * VirtioBalloonSpec.STAT_SIZE];
    for (int i = 0; i < tagValuePairs.length / 2; i++) {
      int at = i * VirtioBalloonSpec.STAT_SIZE;
      bytes[at] = (byte) tagValuePairs[2 * i];
      bytes[at + 1] = (byte) (tagValuePairs[2 * i] >>> 8);
      for (int b = 0; b < 8; b++) {
        bytes[at + 2 + b] = (byte) (tagValuePairs[2 * i + 1] >>> (8 * b));
      }
    }
    return driver.readable(bytes);
  }

  private void fillPage(long pfn, int value) {
    byte[] page = new byte[VirtioBalloonSpec.PAGE_SIZE];
    Arrays.fill(page, (byte) value);
    memory.write(pfn << VirtioBalloonSpec.PFN_SHIFT, page);
  }

  private boolean pageIsZero(long pfn) {
    byte[] page = memory.read(pfn << VirtioBalloonSpec.PFN_SHIFT, VirtioBalloonSpec.PAGE_SIZE);
    for (byte b : page) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }

  @Test
  void configReportsTargetPages() {
    start(8);

    assertThat(transport.read(CONFIG + VirtioBalloonSpec.CONFIG_NUM_PAGES, 4)).isEqualTo(2048);
    assertThat(transport.read(CONFIG + VirtioBalloonSpec.CONFIG_ACTUAL, 4)).isZero();
    assertThat(transport.read(CONFIG, 8)).isEqualTo(2048);
    assertThat(transport.read(CONFIG + 8, 4)).isZero();
    assertThat(device.targetPages()).isEqualTo(2048);
  }

  @Test
  void configActualWritable() {
    start(8);

    transport.write(CONFIG + VirtioBalloonSpec.CONFIG_ACTUAL, 4, 300);
    transport.write(CONFIG + VirtioBalloonSpec.CONFIG_NUM_PAGES, 4, 1);

    assertThat(device.actualPages()).isEqualTo(300);
    assertThat(transport.read(CONFIG + VirtioBalloonSpec.CONFIG_ACTUAL, 4)).isEqualTo(300);
    assertThat(device.targetPages()).isEqualTo(2048);
  }

  @Test
  void featuresFollowConfig() {
    create(1, false, 0);
    assertThat(driver.deviceFeatures()).isEqualTo(VERSION_1);
    assertThat(device.queues()).hasSize(2);

    create(1, true, 1);
    assertThat(driver.deviceFeatures()).isEqualTo(VERSION_1 | DEFLATE_ON_OOM | STATS_VQ);
    assertThat(device.queues()).hasSize(3);
  }

  @Test
  void inflateGivesPagesToHost() {
    start(1);
    long[] inflated = {FIRST_PFN, FIRST_PFN + 1, FIRST_PFN + 2, FIRST_PFN + 10};
    for (long pfn : inflated) {
      fillPage(pfn, 0x5a);
    }
    fillPage(FIRST_PFN + 3, 0x5a);
    assertThat(pageIsZero(FIRST_PFN)).isFalse();

    driver.selectQueue(VirtioBalloonSpec.INFLATEQ);
    int head = driver.submit(pfns(inflated));
    device.processQueue(VirtioBalloonSpec.INFLATEQ);

    for (long pfn : inflated) {
      assertThat(pageIsZero(pfn)).as("page %#x after inflating", pfn).isTrue();
    }
    assertThat(pageIsZero(FIRST_PFN + 3)).as("page not inflated").isFalse();
    assertThat(device.inflatedPages()).isEqualTo(4);
    assertThat(device.metrics().inflateCount.get()).isEqualTo(1);
    assertThat(driver.usedIndex()).isEqualTo(1);
    assertThat(driver.used(0).head()).isEqualTo(head);
    assertThat(driver.used(0).length()).isZero();
    assertThat(interrupts.get()).isEqualTo(1);
    assertThat(resetRequests.get()).isZero();
  }

  @Test
  void inflateSkipsPfnsOutsideRam() {
    start(1);
    fillPage(FIRST_PFN, 0x11);
    long pastRam = GUEST_BYTES >>> VirtioBalloonSpec.PFN_SHIFT;

    driver.submit(pfns(pastRam, FIRST_PFN, 0xffff_ffffL));
    device.processQueue(VirtioBalloonSpec.INFLATEQ);

    assertThat(device.skippedPages()).isEqualTo(2);
    assertThat(device.inflatedPages()).isEqualTo(1);
    assertThat(pageIsZero(FIRST_PFN)).isTrue();
    assertThat(driver.usedIndex()).isEqualTo(1);
    assertThat(resetRequests.get()).isZero();
  }

  @Test
  void deflateCounted() {
    start(1);

    driver.selectQueue(VirtioBalloonSpec.DEFLATEQ);
    int head = driver.submit(pfns(FIRST_PFN, FIRST_PFN + 1, 0xffff_ffffL));
    device.processQueue(VirtioBalloonSpec.DEFLATEQ);

    assertThat(device.deflatedPages()).isEqualTo(2);
    assertThat(device.skippedPages()).isEqualTo(1);
    assertThat(device.metrics().deflateCount.get()).isEqualTo(1);
    assertThat(driver.usedIndex()).isEqualTo(1);
    assertThat(driver.used(0).head()).isEqualTo(head);
  }

  @Test
  void statsRecordedAndBufferHeld() {
    create(1, false, 1);
    driver.start(VERSION_1 | STATS_VQ, QUEUE_SIZE, 3);
    driver.selectQueue(VirtioBalloonSpec.STATSQ);

    int head =
        driver.submit(
            statsBuffer(
                VirtioBalloonSpec.VIRTIO_BALLOON_S_MEMFREE,
                100L << 20,
                VirtioBalloonSpec.VIRTIO_BALLOON_S_MEMTOT,
                0x1_0000_0000L,
                0x7777,
                5));
    device.processQueue(VirtioBalloonSpec.STATSQ);

    assertThat(device.stats())
        .containsEntry(VirtioBalloonSpec.VIRTIO_BALLOON_S_MEMFREE, 100L << 20)
        .containsEntry(VirtioBalloonSpec.VIRTIO_BALLOON_S_MEMTOT, 0x1_0000_0000L)
        .doesNotContainKey(0x7777);
    assertThat(device.metrics().statsUpdatesCount.get()).isEqualTo(1);
    assertThat(driver.usedIndex()).as("buffer held until the next request").isZero();

    assertThat(device.requestStats()).isTrue();

    assertThat(driver.usedIndex()).isEqualTo(1);
    assertThat(driver.used(0).head()).isEqualTo(head);
    assertThat(driver.interruptStatus() & VirtioSpec.INTERRUPT_USED_BUFFER).isNotZero();
    assertThat(device.requestStats()).as("no buffer held any more").isFalse();
  }

  @Test
  void statsPostedBeforeDriverOkAreTaken() {
    create(1, false, 1);
    driver.start(
        VERSION_1 | STATS_VQ,
        QUEUE_SIZE,
        3,
        () -> {
          driver.selectQueue(VirtioBalloonSpec.STATSQ);
          driver.submit(statsBuffer(VirtioBalloonSpec.VIRTIO_BALLOON_S_MEMFREE, 42L << 20));
          // The notification comes before DRIVER_OK, while the device is not active.
          device.processQueue(VirtioBalloonSpec.STATSQ);
        });

    assertThat(device.stats()).containsEntry(VirtioBalloonSpec.VIRTIO_BALLOON_S_MEMFREE, 42L << 20);
    assertThat(device.requestStats()).as("the buffer is held for the next request").isTrue();
  }

  @Test
  void statsPartialEntryFails() {
    create(1, false, 1);
    driver.start(VERSION_1 | STATS_VQ, QUEUE_SIZE, 3);
    driver.selectQueue(VirtioBalloonSpec.STATSQ);

    driver.submit(driver.readable(new byte[15]));
    device.processQueue(VirtioBalloonSpec.STATSQ);

    assertThat(device.metrics().statsUpdateFails.get()).isEqualTo(1);
    assertThat(device.metrics().statsUpdatesCount.get()).isZero();
    assertThat(device.stats()).isEmpty();
    assertThat(resetRequests.get()).isZero();
  }

  @Test
  void setTargetMibRaisesConfigInterrupt() {
    start(1);
    assertThat(driver.interruptStatus()).isZero();

    device.setTargetMib(4);

    assertThat(transport.read(CONFIG + VirtioBalloonSpec.CONFIG_NUM_PAGES, 4)).isEqualTo(1024);
    assertThat(driver.interruptStatus() & VirtioSpec.INTERRUPT_CONFIG_CHANGE).isNotZero();
    assertThat(interrupts.get()).isEqualTo(1);
  }

  @Test
  void setTargetMibBeforeStartRaisesNothing() {
    create(1, false, 0);

    device.setTargetMib(2);

    assertThat(device.targetPages()).isEqualTo(512);
    assertThat(interrupts.get()).isZero();
  }

  @Test
  void setTargetMibRejectsOutOfRange() {
    create(1, false, 0);

    assertThatThrownBy(() -> device.setTargetMib(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("-1 MiB");
    assertThatThrownBy(() -> device.setTargetMib(BalloonDevice.MAX_TARGET_MIB + 1))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void writableBufferNeedsReset() {
    start(1);

    driver.submit(driver.writable(8));
    device.processQueue(VirtioBalloonSpec.INFLATEQ);

    assertThat(resetRequests.get()).isEqualTo(1);
    assertThat(driver.deviceStatus() & VirtioSpec.STATUS_DEVICE_NEEDS_RESET).isNotZero();
    assertThat(device.metrics().eventFails.get()).isEqualTo(1);

    driver.submit(pfns(FIRST_PFN));
    device.processQueue(VirtioBalloonSpec.INFLATEQ);
    assertThat(device.inflatedPages()).as("no work after the device broke").isZero();
  }

  @Test
  void partialPfnNeedsReset() {
    start(1);

    driver.submit(driver.readable(new byte[6]));
    device.processQueue(VirtioBalloonSpec.INFLATEQ);

    assertThat(resetRequests.get()).isEqualTo(1);
    assertThat(device.metrics().eventFails.get()).isEqualTo(1);
  }

  @Test
  void resetClearsActual() {
    start(1);
    transport.write(CONFIG + VirtioBalloonSpec.CONFIG_ACTUAL, 4, 7);

    driver.start(VERSION_1, QUEUE_SIZE, 2);

    assertThat(device.actualPages()).isZero();
  }

  @Test
  void metricsUseFirecrackerNames() {
    create(1, false, 0);

    assertThat(device.metrics().snapshot())
        .containsOnlyKeys(
            "activate_fails",
            "inflate_count",
            "stats_updates_count",
            "stats_update_fails",
            "deflate_count",
            "event_fails");
  }
}
