package dev.kiln.vmm.devices.virtio.block;

import static dev.kiln.vmm.devices.virtio.block.VirtioBlockSpec.VIRTIO_BLK_S_IOERR;
import static dev.kiln.vmm.devices.virtio.block.VirtioBlockSpec.VIRTIO_BLK_S_OK;
import static dev.kiln.vmm.devices.virtio.block.VirtioBlockSpec.VIRTIO_BLK_S_UNSUPP;
import static dev.kiln.vmm.devices.virtio.block.VirtioBlockSpec.VIRTIO_BLK_T_FLUSH;
import static dev.kiln.vmm.devices.virtio.block.VirtioBlockSpec.VIRTIO_BLK_T_GET_ID;
import static dev.kiln.vmm.devices.virtio.block.VirtioBlockSpec.VIRTIO_BLK_T_IN;
import static dev.kiln.vmm.devices.virtio.block.VirtioBlockSpec.VIRTIO_BLK_T_OUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.kiln.vmm.config.DriveConfig.CacheType;
import dev.kiln.vmm.devices.virtio.MmioTransport;
import dev.kiln.vmm.devices.virtio.VirtioSpec;
import dev.kiln.vmm.devices.virtio.block.TestDriver.Buffer;
import dev.kiln.vmm.devices.virtio.block.TestDriver.Used;
import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.memory.GuestRegion;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Drives a {@link BlockDevice} through a real {@link MmioTransport} and a split queue laid out by
 * hand in guest memory, as a guest driver would, against a disk image in a temporary directory.
 */
class BlockDeviceTest {
  static final int SECTORS = 64;
  static final int QUEUE_SIZE = 16;
  static final long BASE_FEATURES = VirtioSpec.feature(VirtioSpec.VIRTIO_F_VERSION_1);
  private static final long EVENT_IDX = VirtioSpec.feature(VirtioSpec.VIRTIO_RING_F_EVENT_IDX);
  private static final int QUEUE_NOTIFY = 0x050;

  @TempDir Path dir;

  /** Where guest RAM is split into two regions with separate host mappings. */
  static final long REGION_BOUNDARY = 8 << 20;

  final GuestMemory memory =
      new GuestMemory(
          List.of(
              new GuestRegion(0, Arena.ofAuto().allocate(REGION_BOUNDARY, 4096)),
              new GuestRegion(REGION_BOUNDARY, Arena.ofAuto().allocate(REGION_BOUNDARY, 4096))));
  final AtomicInteger interrupts = new AtomicInteger();
  final AtomicInteger resetRequests = new AtomicInteger();
  Path image;
  byte[] imageBytes;
  BlockDevice device;
  MmioTransport transport;
  TestDriver driver;

  @BeforeEach
  void writeImage() throws IOException {
    imageBytes = new byte[SECTORS * 512];
    for (int i = 0; i < imageBytes.length; i++) {
      imageBytes[i] = (byte) (i * 7 + i / 512);
    }
    image = dir.resolve("disk.img");
    Files.write(image, imageBytes);
  }

  @AfterEach
  void closeDevice() throws IOException {
    if (device != null) {
      device.close();
    }
  }

  /** Creates the device and transport, and starts them with {@code features} accepted. */
  void start(String driveId, boolean readOnly, CacheType cache, long features) throws IOException {
    create(driveId, readOnly, cache);
    driver.start(features, QUEUE_SIZE);
  }

  void start() throws IOException {
    start("rootfs", false, CacheType.UNSAFE, BASE_FEATURES);
  }

  /** Returns the engine under test; {@link BlockDeviceAsyncTest} runs these tests on io_uring. */
  BlockIoEngine openEngine(FileBackend backend) throws IOException {
    return new SyncEngine(backend);
  }

  /** Waits until the engine has finished every request in flight. */
  void awaitCompletions() {}

  /** Handles the queue as a notification would, and waits for the requests it started. */
  void processQueue() {
    device.processQueue(0);
    awaitCompletions();
  }

  void create(String driveId, boolean readOnly, CacheType cache) throws IOException {
    AtomicReference<MmioTransport> transportRef = new AtomicReference<>();
    FileBackend backend = FileBackend.open(image, readOnly);
    device =
        new BlockDevice(
            driveId,
            backend,
            openEngine(backend),
            cache,
            null,
            () -> {
              resetRequests.incrementAndGet();
              transportRef.get().fail("test device gave up");
            });
    transport =
        new MmioTransport(
            "block test",
            device,
            memory,
            interrupts::incrementAndGet,
            queue -> {
              device.processQueue(queue);
              awaitCompletions();
            });
    transportRef.set(transport);
    driver = new TestDriver(memory, transport);
  }

  static byte[] pattern(int length, int seed) {
    byte[] data = new byte[length];
    for (int i = 0; i < length; i++) {
      data[i] = (byte) (seed + i * 13);
    }
    return data;
  }

  byte[] fileRange(long offset, int length) throws IOException {
    return Arrays.copyOfRange(Files.readAllBytes(image), (int) offset, (int) offset + length);
  }

  long metric(String name) {
    return device.metrics().snapshot().get(name);
  }

  // Discovery and configuration

  @Test
  void configSpaceCapacityInSectors() throws IOException {
    Files.write(image, new byte[10 * 512 + 100]);
    start();

    assertThat(driver.read(TestDriver.CONFIG)).isEqualTo(10);
    assertThat(driver.read(TestDriver.CONFIG + 4)).isZero();
    assertThat(transport.read(TestDriver.CONFIG, 8)).isEqualTo(10L);
    assertThat(driver.read(TestDriver.CONFIG + VirtioBlockSpec.CONFIG_SEG_MAX))
        .isEqualTo(BlockDevice.SEG_MAX);
    assertThat(device.capacity()).isEqualTo(10);
  }

  @Test
  void configReadPastEndCounted() throws IOException {
    start();

    assertThat(driver.read(TestDriver.CONFIG + 0x40)).isZero();
    assertThat(metric("cfg_fails")).isEqualTo(1);
  }

  @Test
  void configWriteDropped() throws IOException {
    start();

    driver.write(TestDriver.CONFIG, 0x1234);

    assertThat(driver.read(TestDriver.CONFIG)).isEqualTo(SECTORS);
    assertThat(metric("cfg_fails")).isEqualTo(1);
  }

  @Test
  void featuresForReadWriteUnsafeDrive() throws IOException {
    create("rootfs", false, CacheType.UNSAFE);

    long features = driver.deviceFeatures();

    assertThat(driver.read(0x008)).as("device id").isEqualTo(VirtioSpec.DEVICE_ID_BLOCK);
    assertThat(driver.read(TestDriver.QUEUE_NUM_MAX)).isEqualTo(BlockDevice.QUEUE_SIZE);
    assertThat(features)
        .isEqualTo(
            VirtioSpec.feature(VirtioSpec.VIRTIO_F_VERSION_1)
                | VirtioSpec.feature(VirtioSpec.VIRTIO_RING_F_EVENT_IDX)
                | VirtioSpec.feature(VirtioBlockSpec.VIRTIO_BLK_F_SEG_MAX));
  }

  @Test
  void featuresOfferFlushOnlyForWriteback() throws IOException {
    create("rootfs", false, CacheType.WRITEBACK);

    assertThat(driver.deviceFeatures() & VirtioSpec.feature(VirtioBlockSpec.VIRTIO_BLK_F_FLUSH))
        .isNotZero();
  }

  @Test
  void featuresOfferReadOnly() throws IOException {
    create("rootfs", true, CacheType.UNSAFE);

    long features = driver.deviceFeatures();

    assertThat(features & VirtioSpec.feature(VirtioBlockSpec.VIRTIO_BLK_F_RO)).isNotZero();
    assertThat(features & VirtioSpec.feature(VirtioBlockSpec.VIRTIO_BLK_F_FLUSH)).isZero();
  }

  @Test
  void transportActivatesWithNegotiatedFeatures() throws IOException {
    start("rootfs", false, CacheType.UNSAFE, BASE_FEATURES | EVENT_IDX);

    assertThat(transport.status())
        .isEqualTo(
            VirtioSpec.STATUS_ACKNOWLEDGE
                | VirtioSpec.STATUS_DRIVER
                | VirtioSpec.STATUS_FEATURES_OK
                | VirtioSpec.STATUS_DRIVER_OK);
    assertThat(driver.read(TestDriver.QUEUE_READY)).isEqualTo(1);
  }

  // Reads and writes

  @Test
  void outThenInRoundTripAcrossBuffers() throws IOException {
    start();
    byte[] data = pattern(2048, 5);
    Buffer outStatus = driver.status();
    driver.submit(
        driver.header(VIRTIO_BLK_T_OUT, 2),
        driver.readable(Arrays.copyOfRange(data, 0, 512)),
        driver.readable(Arrays.copyOfRange(data, 512, 1536)),
        driver.readable(Arrays.copyOfRange(data, 1536, 2048)),
        outStatus);

    processQueue();

    assertThat(driver.statusOf(outStatus)).isEqualTo(VIRTIO_BLK_S_OK);
    assertThat(driver.usedIndex()).isEqualTo(1);
    assertThat(driver.used(0)).isEqualTo(new Used(0, 1));
    assertThat(fileRange(1024, 2048)).isEqualTo(data);
    assertThat(fileRange(0, 1024)).isEqualTo(Arrays.copyOfRange(imageBytes, 0, 1024));
    assertThat(fileRange(3072, 512)).isEqualTo(Arrays.copyOfRange(imageBytes, 3072, 3584));

    Buffer first = driver.writable(1536);
    Buffer second = driver.writable(512);
    Buffer inStatus = driver.status();
    int head = driver.submit(driver.header(VIRTIO_BLK_T_IN, 2), first, second, inStatus);

    processQueue();

    assertThat(driver.statusOf(inStatus)).isEqualTo(VIRTIO_BLK_S_OK);
    assertThat(driver.used(1)).isEqualTo(new Used(head, 2048 + 1));
    assertThat(memory.read(first.address(), 1536)).isEqualTo(Arrays.copyOfRange(data, 0, 1536));
    assertThat(memory.read(second.address(), 512)).isEqualTo(Arrays.copyOfRange(data, 1536, 2048));
    assertThat(metric("write_count")).isEqualTo(1);
    assertThat(metric("write_bytes")).isEqualTo(2048);
    assertThat(metric("read_count")).isEqualTo(1);
    assertThat(metric("read_bytes")).isEqualTo(2048);
    assertThat(metric("queue_event_count")).isEqualTo(2);
    assertThat(interrupts.get()).isEqualTo(2);
  }

  @Test
  void inReadsLastSector() throws IOException {
    start();
    Buffer data = driver.writable(512);
    Buffer status = driver.status();
    driver.submit(driver.header(VIRTIO_BLK_T_IN, SECTORS - 1), data, status);

    processQueue();

    assertThat(driver.statusOf(status)).isEqualTo(VIRTIO_BLK_S_OK);
    assertThat(memory.read(data.address(), 512))
        .isEqualTo(Arrays.copyOfRange(imageBytes, (SECTORS - 1) * 512, SECTORS * 512));
  }

  @Test
  void inWithDataAndStatusInOneBuffer() throws IOException {
    start();
    // virtio 1.2, 2.6.4: the device must not assume a layout, so the status may share a buffer.
    Buffer dataAndStatus = driver.writable(512 + 1);
    driver.submit(driver.header(VIRTIO_BLK_T_IN, 1), dataAndStatus);

    processQueue();

    assertThat(memory.read(dataAndStatus.address(), 512))
        .isEqualTo(Arrays.copyOfRange(imageBytes, 512, 1024));
    assertThat(Byte.toUnsignedInt(memory.readU8(dataAndStatus.address() + 512)))
        .isEqualTo(VIRTIO_BLK_S_OK);
    assertThat(driver.used(0).length()).isEqualTo(513);
  }

  @Test
  void outWithHeaderSplitAcrossBuffers() throws IOException {
    start();
    Buffer header = driver.header(VIRTIO_BLK_T_OUT, 3);
    byte[] data = pattern(512, 9);
    Buffer status = driver.status();
    driver.submit(
        new Buffer(header.address(), 5, false),
        new Buffer(header.address() + 5, 11, false),
        driver.readable(data),
        status);

    processQueue();

    assertThat(driver.statusOf(status)).isEqualTo(VIRTIO_BLK_S_OK);
    assertThat(fileRange(3 * 512, 512)).isEqualTo(data);
  }

  @Test
  void notifyThroughTransportRunsQueue() throws IOException {
    start();
    Buffer status = driver.status();
    driver.submit(driver.header(VIRTIO_BLK_T_IN, 0), driver.writable(512), status);

    driver.write(QUEUE_NOTIFY, 0);

    assertThat(driver.statusOf(status)).isEqualTo(VIRTIO_BLK_S_OK);
    assertThat(driver.read(TestDriver.INTERRUPT_STATUS) & VirtioSpec.INTERRUPT_USED_BUFFER)
        .isEqualTo(VirtioSpec.INTERRUPT_USED_BUFFER);
  }

  // Flush and id

  @Test
  void flushWithWriteback() throws IOException {
    start("rootfs", false, CacheType.WRITEBACK, BASE_FEATURES);
    Buffer status = driver.status();
    driver.submit(driver.header(VIRTIO_BLK_T_FLUSH, 0), status);

    processQueue();

    assertThat(driver.statusOf(status)).isEqualTo(VIRTIO_BLK_S_OK);
    assertThat(driver.used(0).length()).isEqualTo(1);
    assertThat(metric("flush_count")).isEqualTo(1);
  }

  @Test
  void flushWithUnsafeStillFlushes() throws IOException {
    start();
    Buffer status = driver.status();
    driver.submit(driver.header(VIRTIO_BLK_T_FLUSH, 0), status);

    processQueue();

    assertThat(driver.statusOf(status)).isEqualTo(VIRTIO_BLK_S_OK);
    assertThat(metric("flush_count")).isEqualTo(1);
  }

  @Test
  void getIdReturnsPaddedDriveId() throws IOException {
    start();
    Buffer id = driver.writable(20);
    Buffer status = driver.status();
    driver.submit(driver.header(VIRTIO_BLK_T_GET_ID, 0), id, status);

    processQueue();

    byte[] expected = Arrays.copyOf("rootfs".getBytes(StandardCharsets.US_ASCII), 20);
    assertThat(driver.statusOf(status)).isEqualTo(VIRTIO_BLK_S_OK);
    assertThat(memory.read(id.address(), 20)).isEqualTo(expected);
    assertThat(driver.used(0).length()).isEqualTo(21);
  }

  @Test
  void getIdTruncatesLongId() throws IOException {
    start("a_drive_id_longer_than_twenty", false, CacheType.UNSAFE, BASE_FEATURES);
    Buffer id = driver.writable(32);
    Buffer status = driver.status();
    driver.submit(driver.header(VIRTIO_BLK_T_GET_ID, 0), id, status);

    processQueue();

    assertThat(new String(memory.read(id.address(), 20), StandardCharsets.US_ASCII))
        .isEqualTo("a_drive_id_longer_th");
    assertThat(memory.readU8(id.address() + 20)).as("byte after the id").isEqualTo((byte) 0xee);
  }

  @Test
  void getIdShortBufferIsIoError() throws IOException {
    start();
    Buffer status = driver.status();
    driver.submit(driver.header(VIRTIO_BLK_T_GET_ID, 0), driver.writable(8), status);

    processQueue();

    assertThat(driver.statusOf(status)).isEqualTo(VIRTIO_BLK_S_IOERR);
    assertThat(metric("invalid_reqs_count")).isEqualTo(1);
  }

  // Requests the device rejects

  @Test
  void readOnlyDriveRejectsOut() throws IOException {
    start("rootfs", true, CacheType.UNSAFE, BASE_FEATURES);
    Buffer status = driver.status();
    driver.submit(driver.header(VIRTIO_BLK_T_OUT, 0), driver.readable(pattern(512, 1)), status);

    processQueue();

    assertThat(driver.statusOf(status)).isEqualTo(VIRTIO_BLK_S_IOERR);
    assertThat(driver.used(0).length()).isEqualTo(1);
    assertThat(Files.readAllBytes(image)).isEqualTo(imageBytes);
    assertThat(metric("invalid_reqs_count")).isEqualTo(1);
    assertThat(metric("write_count")).isZero();
  }

  @Test
  void readOnlyDriveServesIn() throws IOException {
    start("rootfs", true, CacheType.UNSAFE, BASE_FEATURES);
    Buffer data = driver.writable(512);
    Buffer status = driver.status();
    driver.submit(driver.header(VIRTIO_BLK_T_IN, 4), data, status);

    processQueue();

    assertThat(driver.statusOf(status)).isEqualTo(VIRTIO_BLK_S_OK);
    assertThat(memory.read(data.address(), 512))
        .isEqualTo(Arrays.copyOfRange(imageBytes, 4 * 512, 5 * 512));
  }

  @Test
  void sectorPastCapacityIsIoError() throws IOException {
    start();
    long[][] cases = {
      {SECTORS, 512}, // starts at the end
      {SECTORS - 1, 1024}, // ends one sector past the end
      {-1L, 512}, // 2^64 - 1, which overflows when added to
      {Long.MAX_VALUE / 256, 512}, // sector * 512 overflows
    };
    for (long[] c : cases) {
      Buffer data = driver.writable((int) c[1]);
      Buffer status = driver.status();
      driver.submit(driver.header(VIRTIO_BLK_T_IN, c[0]), data, status);

      processQueue();

      assertThat(driver.statusOf(status))
          .as("sector %s, %d bytes", Long.toUnsignedString(c[0]), c[1])
          .isEqualTo(VIRTIO_BLK_S_IOERR);
      assertThat(memory.read(data.address(), 4)).as("data untouched").containsOnly((byte) 0xee);
    }
    assertThat(metric("invalid_reqs_count")).isEqualTo(cases.length);
    assertThat(metric("read_count")).isZero();
  }

  @Test
  void outPastCapacityLeavesFile() throws IOException {
    start();
    Buffer status = driver.status();
    driver.submit(
        driver.header(VIRTIO_BLK_T_OUT, SECTORS - 1), driver.readable(pattern(1024, 3)), status);

    processQueue();

    assertThat(driver.statusOf(status)).isEqualTo(VIRTIO_BLK_S_IOERR);
    assertThat(Files.readAllBytes(image)).isEqualTo(imageBytes);
  }

  @Test
  void lengthNotSectorMultipleIsIoError() throws IOException {
    start();
    Buffer inStatus = driver.status();
    driver.submit(driver.header(VIRTIO_BLK_T_IN, 0), driver.writable(100), inStatus);
    Buffer outStatus = driver.status();
    driver.submit(driver.header(VIRTIO_BLK_T_OUT, 0), driver.readable(pattern(700, 1)), outStatus);

    processQueue();

    assertThat(driver.statusOf(inStatus)).isEqualTo(VIRTIO_BLK_S_IOERR);
    assertThat(driver.statusOf(outStatus)).isEqualTo(VIRTIO_BLK_S_IOERR);
    assertThat(Files.readAllBytes(image)).isEqualTo(imageBytes);
    assertThat(metric("invalid_reqs_count")).isEqualTo(2);
  }

  @Test
  void unknownTypeIsUnsupported() throws IOException {
    start();
    Buffer status = driver.status();
    driver.submit(driver.header(11, 0), driver.readable(pattern(512, 0)), status);

    processQueue();

    assertThat(driver.statusOf(status)).isEqualTo(VIRTIO_BLK_S_UNSUPP);
    assertThat(driver.used(0).length()).isEqualTo(1);
    assertThat(metric("invalid_reqs_count")).isEqualTo(1);
  }

  @Test
  void inWithReadableDataIsIoError() throws IOException {
    start();
    Buffer status = driver.status();
    driver.submit(
        driver.header(VIRTIO_BLK_T_IN, 0),
        driver.readable(pattern(512, 0)),
        driver.writable(512),
        status);

    processQueue();

    assertThat(driver.statusOf(status)).isEqualTo(VIRTIO_BLK_S_IOERR);
  }

  @Test
  void outWithWritableDataIsIoError() throws IOException {
    start();
    Buffer status = driver.status();
    driver.submit(driver.header(VIRTIO_BLK_T_OUT, 0), driver.writable(512), status);

    processQueue();

    assertThat(driver.statusOf(status)).isEqualTo(VIRTIO_BLK_S_IOERR);
    assertThat(Files.readAllBytes(image)).isEqualTo(imageBytes);
  }

  @Test
  void headerTooShortIsIoError() throws IOException {
    start();
    Buffer header = driver.header(VIRTIO_BLK_T_IN, 0);
    Buffer status = driver.status();
    int head = driver.submit(new Buffer(header.address(), 8, false), status);

    processQueue();

    assertThat(driver.statusOf(status)).isEqualTo(VIRTIO_BLK_S_IOERR);
    assertThat(driver.used(0)).isEqualTo(new Used(head, 1));
    assertThat(metric("invalid_reqs_count")).isEqualTo(1);
    assertThat(resetRequests.get()).isZero();
  }

  @Test
  void noStatusByteUsedWithZeroLength() throws IOException {
    start();
    int head = driver.submit(driver.header(VIRTIO_BLK_T_OUT, 0), driver.readable(pattern(512, 0)));
    Buffer nextStatus = driver.status();
    driver.submit(driver.header(VIRTIO_BLK_T_IN, 0), driver.writable(512), nextStatus);

    assertThatCode(() -> processQueue()).doesNotThrowAnyException();

    assertThat(driver.usedIndex()).isEqualTo(2);
    assertThat(driver.used(0)).isEqualTo(new Used(head, 0));
    assertThat(driver.statusOf(nextStatus)).as("next request").isEqualTo(VIRTIO_BLK_S_OK);
    assertThat(Files.readAllBytes(image)).isEqualTo(imageBytes);
    assertThat(metric("invalid_reqs_count")).isEqualTo(1);
    assertThat(resetRequests.get()).isZero();
  }

  @Test
  void zeroLengthStatusBufferIsNoStatus() throws IOException {
    start();
    Buffer empty = new Buffer(driver.allocate(1, 0xff), 0, true);
    int head = driver.submit(driver.header(VIRTIO_BLK_T_FLUSH, 0), empty);

    processQueue();

    assertThat(driver.used(0)).isEqualTo(new Used(head, 0));
    assertThat(driver.statusOf(empty)).as("byte past the empty buffer").isEqualTo(0xff);
  }

  @Test
  void hostReadFailureIsIoError() throws IOException {
    start();
    try (FileChannel channel = FileChannel.open(image, StandardOpenOption.WRITE)) {
      channel.truncate(512);
    }
    Buffer status = driver.status();
    driver.submit(driver.header(VIRTIO_BLK_T_IN, 8), driver.writable(512), status);

    processQueue();

    assertThat(driver.statusOf(status)).isEqualTo(VIRTIO_BLK_S_IOERR);
    assertThat(metric("execute_fails")).isEqualTo(1);
    assertThat(metric("invalid_reqs_count")).isZero();
  }

  @Test
  void outThenInAcrossMemoryRegions() throws IOException {
    start();
    byte[] data = pattern(1024, 41);
    long low = REGION_BOUNDARY - 512;
    memory.write(low, data, 0, 512);
    memory.write(REGION_BOUNDARY, data, 512, 512);
    Buffer writeStatus = driver.status();
    driver.submit(
        driver.header(VIRTIO_BLK_T_OUT, 2),
        new Buffer(low, 512, false),
        new Buffer(REGION_BOUNDARY, 512, false),
        writeStatus);
    processQueue();
    memory.zero(low, 512);
    memory.zero(REGION_BOUNDARY, 512);
    Buffer readStatus = driver.status();
    driver.submit(
        driver.header(VIRTIO_BLK_T_IN, 2),
        new Buffer(low, 512, true),
        new Buffer(REGION_BOUNDARY, 512, true),
        readStatus);

    processQueue();

    assertThat(driver.statusOf(writeStatus)).isEqualTo(VIRTIO_BLK_S_OK);
    assertThat(driver.statusOf(readStatus)).isEqualTo(VIRTIO_BLK_S_OK);
    assertThat(fileRange(1024, 1024)).isEqualTo(data);
    assertThat(memory.read(low, 512)).isEqualTo(Arrays.copyOfRange(data, 0, 512));
    assertThat(memory.read(REGION_BOUNDARY, 512)).isEqualTo(Arrays.copyOfRange(data, 512, 1024));
    assertThat(driver.used(1)).isEqualTo(new Used(driver.used(1).head(), 1025));
  }

  // Drivers that break the queue rules

  @Test
  void bufferSpanningRegionsRequestsReset() throws IOException {
    start();
    driver.submit(
        driver.header(VIRTIO_BLK_T_IN, 0),
        new Buffer(REGION_BOUNDARY - 256, 512, true),
        driver.status());

    processQueue();

    assertThat(resetRequests.get()).isEqualTo(1);
    assertThat(driver.usedIndex()).isZero();
    assertThat(fileRange(0, 512)).isEqualTo(Arrays.copyOfRange(imageBytes, 0, 512));
  }

  @Test
  void descriptorOutsideRamRequestsReset() throws IOException {
    start();
    Buffer status = driver.status();
    driver.submit(driver.header(VIRTIO_BLK_T_IN, 0), new Buffer(64L << 20, 512, true), status);

    assertThatCode(() -> processQueue()).doesNotThrowAnyException();

    assertThat(resetRequests.get()).isEqualTo(1);
    assertThat(transport.status() & VirtioSpec.STATUS_DEVICE_NEEDS_RESET).isNotZero();
    assertThat(driver.read(TestDriver.INTERRUPT_STATUS) & VirtioSpec.INTERRUPT_CONFIG_CHANGE)
        .isNotZero();
    assertThat(driver.statusOf(status)).as("status untouched").isEqualTo(0xff);
    assertThat(metric("event_fails")).isEqualTo(1);
  }

  @Test
  void brokenDeviceIgnoresNotificationsUntilReset() throws IOException {
    start();
    driver.submit(driver.header(VIRTIO_BLK_T_IN, 0), new Buffer(64L << 20, 512, true));
    processQueue();
    Buffer status = driver.status();
    driver.submit(driver.header(VIRTIO_BLK_T_IN, 0), driver.writable(512), status);

    processQueue();

    assertThat(driver.statusOf(status)).isEqualTo(0xff);
    assertThat(resetRequests.get()).isEqualTo(1);

    driver.start(BASE_FEATURES, QUEUE_SIZE);
    Buffer afterReset = driver.status();
    driver.submit(driver.header(VIRTIO_BLK_T_IN, 0), driver.writable(512), afterReset);

    processQueue();

    assertThat(driver.statusOf(afterReset)).isEqualTo(VIRTIO_BLK_S_OK);
    assertThat(transport.status() & VirtioSpec.STATUS_DEVICE_NEEDS_RESET).isZero();
  }

  @Test
  void chainLoopRequestsReset() throws IOException {
    start();
    Buffer header = driver.header(VIRTIO_BLK_T_IN, 0);
    driver.writeDescriptor(0, header.address(), 16, VirtioSpec.VIRTQ_DESC_F_NEXT, 1);
    driver.writeDescriptor(1, header.address(), 16, VirtioSpec.VIRTQ_DESC_F_NEXT, 0);
    driver.publish(0);

    assertThatCode(() -> processQueue()).doesNotThrowAnyException();

    assertThat(resetRequests.get()).isEqualTo(1);
    assertThat(driver.usedIndex()).isZero();
    assertThat(metric("event_fails")).isEqualTo(1);
  }

  @Test
  void availableIndexAheadRequestsReset() throws IOException {
    start();
    driver.setAvailableIndex(QUEUE_SIZE + 1);

    assertThatCode(() -> processQueue()).doesNotThrowAnyException();

    assertThat(resetRequests.get()).isEqualTo(1);
    assertThat(driver.usedIndex()).isZero();
  }

  @Test
  void requestsBeforeBadChainCompleteAndInterrupt() throws IOException {
    start();
    Buffer status = driver.status();
    driver.submit(driver.header(VIRTIO_BLK_T_IN, 0), driver.writable(512), status);
    driver.submit(driver.header(VIRTIO_BLK_T_IN, 0), new Buffer(64L << 20, 512, true));

    processQueue();

    assertThat(driver.statusOf(status)).isEqualTo(VIRTIO_BLK_S_OK);
    assertThat(driver.usedIndex()).isEqualTo(1);
    assertThat(resetRequests.get()).isEqualTo(1);
    // One interrupt for the used buffer, one for the configuration change from fail().
    assertThat(interrupts.get()).isEqualTo(2);
  }

  @Test
  void processQueueBeforeActivationDoesNothing() throws IOException {
    create("rootfs", false, CacheType.UNSAFE);

    assertThatCode(() -> processQueue()).doesNotThrowAnyException();
    assertThatCode(() -> device.processQueue(3)).doesNotThrowAnyException();

    assertThat(metric("queue_event_count")).isZero();
  }

  @Test
  void activationWithoutReadyQueueCounted() throws IOException {
    create("rootfs", false, CacheType.UNSAFE);
    driver.write(TestDriver.STATUS, VirtioSpec.STATUS_ACKNOWLEDGE | VirtioSpec.STATUS_DRIVER);
    driver.write(TestDriver.DRIVER_FEATURES_SEL, 1);
    driver.write(TestDriver.DRIVER_FEATURES, 1);
    int status =
        VirtioSpec.STATUS_ACKNOWLEDGE | VirtioSpec.STATUS_DRIVER | VirtioSpec.STATUS_FEATURES_OK;
    driver.write(TestDriver.STATUS, status);
    driver.write(TestDriver.STATUS, status | VirtioSpec.STATUS_DRIVER_OK);

    processQueue();

    assertThat(metric("activate_fails")).isEqualTo(1);
    assertThat(metric("queue_event_count")).isZero();
  }

  // Interrupt suppression

  @Test
  void emptyNotificationRaisesNoInterrupt() throws IOException {
    start();

    processQueue();

    assertThat(interrupts.get()).isZero();
    assertThat(metric("no_avail_buffer")).isEqualTo(1);
  }

  @Test
  void noInterruptFlagSuppressesInterrupt() throws IOException {
    start();
    driver.setAvailableFlags(VirtioSpec.VIRTQ_AVAIL_F_NO_INTERRUPT);
    Buffer status = driver.status();
    driver.submit(driver.header(VIRTIO_BLK_T_IN, 0), driver.writable(512), status);

    processQueue();

    assertThat(driver.statusOf(status)).isEqualTo(VIRTIO_BLK_S_OK);
    assertThat(interrupts.get()).isZero();
  }

  @Test
  void eventIndexSuppressesInterrupts() throws IOException {
    start("rootfs", false, CacheType.UNSAFE, BASE_FEATURES | EVENT_IDX);
    // used_event 0: the driver wants an interrupt once the used index passes 0.
    driver.submit(driver.header(VIRTIO_BLK_T_IN, 0), driver.writable(512), driver.status());
    processQueue();
    assertThat(interrupts.get()).as("after the first request").isEqualTo(1);
    assertThat(driver.availableEvent()).as("avail_event").isEqualTo(1);

    // used_event 3: no interrupt until the used index moves past 3.
    driver.setUsedEvent(3);
    driver.submit(driver.header(VIRTIO_BLK_T_IN, 0), driver.writable(512), driver.status());
    processQueue();
    assertThat(interrupts.get()).as("used index 2").isEqualTo(1);

    driver.submit(driver.header(VIRTIO_BLK_T_IN, 0), driver.writable(512), driver.status());
    driver.submit(driver.header(VIRTIO_BLK_T_IN, 0), driver.writable(512), driver.status());
    processQueue();
    assertThat(driver.usedIndex()).isEqualTo(4);
    assertThat(interrupts.get()).as("used index 4, past used_event 3").isEqualTo(2);
    assertThat(driver.availableEvent()).isEqualTo(4);
  }

  @Test
  void metricsNamedAsFirecracker() throws IOException {
    start();

    assertThat(device.metrics().snapshot().keySet())
        .containsExactly(
            "activate_fails",
            "cfg_fails",
            "no_avail_buffer",
            "event_fails",
            "execute_fails",
            "invalid_reqs_count",
            "flush_count",
            "queue_event_count",
            "rate_limiter_event_count",
            "update_count",
            "update_fails",
            "read_bytes",
            "write_bytes",
            "read_count",
            "write_count",
            "rate_limiter_throttled_events",
            "io_engine_throttled_events");
  }
}
