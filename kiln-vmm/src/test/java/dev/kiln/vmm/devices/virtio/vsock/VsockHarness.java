package dev.kiln.vmm.devices.virtio.vsock;

import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.HEADER_SIZE;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.RX_QUEUE;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.TX_QUEUE;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_TYPE_STREAM;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VMADDR_CID_HOST;

import dev.kiln.vmm.config.HugePages;
import dev.kiln.vmm.devices.EventLoop;
import dev.kiln.vmm.devices.virtio.MmioTransport;
import dev.kiln.vmm.devices.virtio.VirtioSpec;
import dev.kiln.vmm.devices.virtio.block.TestDriver;
import dev.kiln.vmm.devices.virtio.block.TestDriver.Buffer;
import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.memory.GuestMemoryAllocator;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * A vsock device on real guest memory, a real event loop and a real listening socket, with a fake
 * guest driver that builds tx packets and rx buffers in the queues and reads what the device
 * returns. The muxer's clock is a counter the test advances.
 */
final class VsockHarness implements AutoCloseable {
  static final long GUEST_CID = 3;
  static final int QUEUE_SIZE = 256;
  static final int RX_DATA_BYTES = 4096;
  private static final long GUEST_BYTES = 32L << 20;
  private static final long WAIT_NANOS = 5_000_000_000L;

  /** A packet the device delivered to the guest. */
  record Packet(VsockPacketHeader header, byte[] data) {
    String text() {
      return new String(data, StandardCharsets.UTF_8);
    }
  }

  final Path udsPath;
  final GuestMemory memory;
  final VsockMetrics metrics = new VsockMetrics();
  final AtomicLong clock = new AtomicLong(1_000_000_000L);
  final AtomicInteger resetRequests = new AtomicInteger();
  final EventLoop loop;
  final VsockMuxer muxer;
  final VsockDevice device;
  final TestDriver driver;
  private final Map<Integer, Buffer[]> rxChains = new HashMap<>();
  private int rxConsumed;

  VsockHarness(Path directory) throws Exception {
    udsPath = directory.resolve("v.sock");
    memory = GuestMemoryAllocator.allocate(GUEST_BYTES, HugePages.NONE);
    loop = new EventLoop();
    muxer = new VsockMuxer(udsPath.toString(), GUEST_CID, metrics, clock::get);
    AtomicReference<MmioTransport> transportRef = new AtomicReference<>();
    device =
        new VsockDevice(
            GUEST_CID,
            muxer,
            metrics,
            () -> {
              resetRequests.incrementAndGet();
              transportRef.get().fail("test device gave up");
            });
    MmioTransport transport =
        new MmioTransport("vsock test", device, memory, () -> {}, device::processQueue);
    transportRef.set(transport);
    driver = new TestDriver(memory, transport);
    device.start(loop);
    loop.start();
    driver.start(
        VirtioSpec.feature(VirtioSpec.VIRTIO_F_VERSION_1)
            | VirtioSpec.feature(VirtioSpec.VIRTIO_RING_F_EVENT_IDX),
        QUEUE_SIZE,
        3);
  }

  /** Returns a header from the guest's port {@code guestPort} to host port {@code hostPort}. */
  static VsockPacketHeader fromGuest(int guestPort, int hostPort, int op, int length) {
    return new VsockPacketHeader(
        GUEST_CID,
        VMADDR_CID_HOST,
        guestPort,
        hostPort,
        length,
        VIRTIO_VSOCK_TYPE_STREAM,
        op,
        0,
        256 * 1024,
        0);
  }

  /** Sends one packet as a header buffer and, when there is data, a data buffer. */
  synchronized void send(VsockPacketHeader header, byte[] data) {
    driver.selectQueue(TX_QUEUE);
    if (data.length == 0) {
      driver.submit(driver.readable(header.encode()));
    } else {
      driver.submit(driver.readable(header.encode()), driver.readable(data));
    }
    device.processQueue(TX_QUEUE);
  }

  /** Sends raw buffers on the tx queue without notifying the device. */
  synchronized void submitTx(Buffer... buffers) {
    driver.selectQueue(TX_QUEUE);
    driver.submit(buffers);
  }

  synchronized void notifyTx() {
    device.processQueue(TX_QUEUE);
  }

  synchronized int txUsed() {
    driver.selectQueue(TX_QUEUE);
    return driver.usedIndex();
  }

  /** Gives the device {@code count} receive buffers: a 44-byte header and 4 KiB of data each. */
  synchronized void addRxBuffers(int count) {
    driver.selectQueue(RX_QUEUE);
    for (int i = 0; i < count; i++) {
      Buffer header = driver.writable(HEADER_SIZE);
      Buffer data = driver.writable(RX_DATA_BYTES);
      int head = driver.submit(header, data);
      rxChains.put(head, new Buffer[] {header, data});
    }
    device.processQueue(RX_QUEUE);
  }

  /** Returns the packets the device delivered since the last call. */
  synchronized List<Packet> takePackets() {
    driver.selectQueue(RX_QUEUE);
    List<Packet> packets = new ArrayList<>();
    int used = driver.usedIndex();
    while (rxConsumed != used) {
      TestDriver.Used element = driver.used(rxConsumed);
      rxConsumed = (rxConsumed + 1) & 0xffff;
      Buffer[] chain = rxChains.remove(element.head());
      VsockPacketHeader header =
          VsockPacketHeader.decode(memory.read(chain[0].address(), HEADER_SIZE));
      byte[] data = memory.read(chain[1].address(), header.length());
      packets.add(new Packet(header, data));
    }
    return packets;
  }

  /** Waits for the next packet; fails after five seconds or when more than one came. */
  Packet awaitPacket() throws InterruptedException {
    return awaitPackets(1).getFirst();
  }

  /** Waits for {@code count} packets; fails after five seconds or when more came. */
  List<Packet> awaitPackets(int count) throws InterruptedException {
    List<Packet> pending = new ArrayList<>();
    await(
        () -> {
          pending.addAll(takePackets());
          return pending.size() >= count;
        },
        count + " packets for the guest");
    if (pending.size() > count) {
      throw new AssertionError("expected " + count + " packets, got " + pending);
    }
    return pending;
  }

  /** Runs {@code query} under the device lock, as the muxer's state requires. */
  <T> T locked(Supplier<T> query) {
    synchronized (device) {
      return query.get();
    }
  }

  /** Polls {@code condition} every 5 ms; fails after five seconds. */
  static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT_NANOS;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(5);
    }
  }

  /** Connects a host client to {@code uds_path}, non-blocking so that reads can time out. */
  SocketChannel connectHost() throws IOException {
    SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(udsPath));
    channel.configureBlocking(false);
    return channel;
  }

  /** Writes all of {@code text} to a non-blocking channel. */
  static void write(SocketChannel channel, byte[] bytes) throws Exception {
    ByteBuffer buffer = ByteBuffer.wrap(bytes);
    long deadline = System.nanoTime() + WAIT_NANOS;
    while (buffer.hasRemaining()) {
      if (channel.write(buffer) == 0) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("the host socket stayed full");
        }
        Thread.sleep(1);
      }
    }
  }

  /** Reads exactly {@code count} bytes; fails on end of file or after five seconds. */
  static byte[] read(SocketChannel channel, int count) throws Exception {
    ByteBuffer buffer = ByteBuffer.allocate(count);
    long deadline = System.nanoTime() + WAIT_NANOS;
    while (buffer.hasRemaining()) {
      int read = channel.read(buffer);
      if (read < 0) {
        throw new AssertionError("end of file after " + buffer.position() + " of " + count);
      }
      if (read == 0) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("timed out after " + buffer.position() + " of " + count);
        }
        Thread.sleep(1);
      }
    }
    return buffer.array();
  }

  /** Waits until the peer closes its side: a read returns end of file. */
  static void awaitEof(SocketChannel channel) throws Exception {
    ByteBuffer buffer = ByteBuffer.allocate(4096);
    long deadline = System.nanoTime() + WAIT_NANOS;
    while (true) {
      int read = channel.read(buffer);
      if (read < 0) {
        return;
      }
      buffer.clear();
      if (read == 0) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("the socket stayed open");
        }
        Thread.sleep(1);
      }
    }
  }

  @Override
  public void close() throws Exception {
    loop.close();
    muxer.close();
    GuestMemoryAllocator.release(memory);
  }
}
