package dev.kiln.vmm.devices.virtio.vsock;

import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.EVENT_QUEUE;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.HEADER_SIZE;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.QUEUE_SIZE;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.RX_QUEUE;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.TX_QUEUE;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_RW;

import dev.kiln.sys.SyscallException;
import dev.kiln.vmm.devices.EventLoop;
import dev.kiln.vmm.devices.virtio.DescriptorChain;
import dev.kiln.vmm.devices.virtio.VirtioDevice;
import dev.kiln.vmm.devices.virtio.VirtioInterrupt;
import dev.kiln.vmm.devices.virtio.VirtioSpec;
import dev.kiln.vmm.devices.virtio.Virtqueue;
import dev.kiln.vmm.devices.virtio.VirtqueueException;
import dev.kiln.vmm.memory.GuestMemory;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The socket device (virtio 1.2, 5.10, device id 19): stream connections between guest vsock ports
 * and host Unix sockets, which {@link VsockMuxer} runs. Firecracker's {@code vsock} section
 * configures it.
 *
 * <p>The configuration space is the guest's context id, a 64-bit value. The event queue is never
 * used, because Kiln has no snapshots and so never sends a transport reset event.
 *
 * <p>The guest may be hostile: a packet with a bad header is dropped or gets an RST and counted, a
 * broken queue asks for a device reset, and the logs have a repeat limit.
 */
public final class VsockDevice implements VirtioDevice {
  private static final Logger LOG = LoggerFactory.getLogger(VsockDevice.class);
  private static final int LOGGED_ERRORS = 10;

  /** The size of the configuration space: {@code le64 guest_cid}. */
  static final int CONFIG_SIZE = 8;

  private final long guestCid;
  private final VsockMuxer muxer;
  private final VsockMetrics metrics;
  private final Runnable needsReset;
  private final Virtqueue rxQueue = new Virtqueue(QUEUE_SIZE);
  private final Virtqueue txQueue = new Virtqueue(QUEUE_SIZE);
  private final Virtqueue eventQueue = new Virtqueue(QUEUE_SIZE);
  private GuestMemory memory;
  private VirtioInterrupt interrupt;
  private boolean broken;
  private long errors;

  /**
   * Creates the device.
   *
   * @param guestCid the guest's context id, 3 or more
   * @param muxer the host side, already listening on its socket path
   * @param needsReset called when the driver breaks the queue rules
   */
  public VsockDevice(long guestCid, VsockMuxer muxer, VsockMetrics metrics, Runnable needsReset) {
    this.guestCid = guestCid;
    this.muxer = muxer;
    this.metrics = metrics;
    this.needsReset = needsReset;
  }

  /** Starts watching the host sockets on {@code loop}. */
  public void start(EventLoop loop) throws SyscallException {
    muxer.start(loop, this::runLocked);
  }

  /** Returns the device's counters. */
  public VsockMetrics metrics() {
    return metrics;
  }

  @Override
  public int deviceType() {
    return VirtioSpec.DEVICE_ID_VSOCK;
  }

  /**
   * Returns {@code VIRTIO_F_VERSION_1} and {@code VIRTIO_RING_F_EVENT_IDX}. Firecracker offers
   * {@code VIRTIO_F_IN_ORDER} in place of the latter; Kiln's queues do not implement in-order use.
   */
  @Override
  public long availableFeatures() {
    return VirtioSpec.feature(VirtioSpec.VIRTIO_F_VERSION_1)
        | VirtioSpec.feature(VirtioSpec.VIRTIO_RING_F_EVENT_IDX);
  }

  @Override
  public List<Virtqueue> queues() {
    return List.of(rxQueue, txQueue, eventQueue);
  }

  @Override
  public long readConfig(int offset, int size) {
    if (offset < 0 || size <= 0 || size > 8 || offset + size > CONFIG_SIZE) {
      metrics.cfgFails.incrementAndGet();
      return 0;
    }
    long value = guestCid >>> (8 * offset);
    return size == 8 ? value : value & ((1L << (8 * size)) - 1);
  }

  @Override
  public void writeConfig(int offset, int size, long value) {
    // The guest's CID is read-only (virtio 1.2, 5.10.4).
    metrics.cfgFails.incrementAndGet();
  }

  @Override
  public synchronized void activate(GuestMemory memory, long features, VirtioInterrupt interrupt) {
    if (!rxQueue.isActive() || !txQueue.isActive()) {
      metrics.activateFails.incrementAndGet();
      logError("the driver started the device without its rx and tx queues");
    }
    this.memory = memory;
    this.interrupt = interrupt;
    this.broken = false;
  }

  @Override
  public synchronized void reset() {
    memory = null;
    interrupt = null;
    muxer.removeAll();
  }

  private boolean active() {
    return interrupt != null && rxQueue.isActive() && txQueue.isActive();
  }

  @Override
  public void processQueue(int index) {
    runLocked(
        () -> {
          switch (index) {
            case RX_QUEUE -> metrics.rxQueueEventCount.incrementAndGet();
            case TX_QUEUE -> {
              metrics.txQueueEventCount.incrementAndGet();
              if (active()) {
                processTx();
              }
            }
            case EVENT_QUEUE -> {
              if (!active()) {
                metrics.evQueueEventFails.incrementAndGet();
              }
            }
            default -> {}
          }
        });
  }

  /**
   * Runs {@code action} under the device lock, then moves what packets it can in both directions,
   * then asks for a reset outside the lock if the driver broke a queue. The muxer's event handlers
   * come through here.
   */
  void runLocked(Runnable action) {
    boolean reset;
    synchronized (this) {
      action.run();
      if (active() && !broken) {
        processRx();
        // Packets left in tx while the control queue was full can go now that rx took some.
        while (!broken && muxer.acceptsGuestPackets() && processTx()) {
          processRx();
        }
      }
      reset = broken && interrupt != null;
      if (reset) {
        interrupt = null;
      }
    }
    // Outside the device lock: the transport takes its own lock to mark the device broken.
    if (reset) {
      needsReset.run();
    }
  }

  /** Handles the guest's packets; returns true when it took at least one. */
  private boolean processTx() {
    int usedBefore = txQueue.usedIndex();
    try {
      DescriptorChain chain;
      while (muxer.acceptsGuestPackets() && (chain = txQueue.pop()) != null) {
        handleGuestPacket(chain);
        txQueue.addUsed(chain.head(), 0);
      }
    } catch (VirtqueueException e) {
      metrics.txQueueEventFails.incrementAndGet();
      logError("invalid tx queue: " + e.getMessage());
      broken = true;
    }
    boolean took = txQueue.usedIndex() != usedBefore;
    if (took && txQueue.needsInterrupt(usedBefore)) {
      interrupt.raise(VirtioSpec.INTERRUPT_USED_BUFFER);
    }
    return took;
  }

  private void handleGuestPacket(DescriptorChain chain) {
    metrics.txPacketsCount.incrementAndGet();
    ChainBuffers data = ChainBuffers.readable(memory, chain);
    if (data.length() < HEADER_SIZE) {
      metrics.invalidPktsCount.incrementAndGet();
      logError(
          "tx chain has "
              + data.length()
              + " device-readable bytes, less than the "
              + HEADER_SIZE
              + "-byte header; dropped");
      return;
    }
    VsockPacketHeader header = VsockPacketHeader.decode(data.read(0, HEADER_SIZE));
    GuestPacketCheck check = GuestPacketCheck.of(header, guestCid, data.length() - HEADER_SIZE);
    switch (check.action()) {
      case DROP -> {
        metrics.invalidPktsCount.incrementAndGet();
        logError("invalid packet dropped (" + header + "): " + check.reason());
      }
      case RESET -> {
        metrics.invalidPktsCount.incrementAndGet();
        logError("packet rejected with RST (" + header + "): " + check.reason());
        muxer.enqueueReset(header);
      }
      case ACCEPT -> {
        if (header.op() == VIRTIO_VSOCK_OP_RW) {
          metrics.txBytesCount.addAndGet(header.unsignedLength());
        }
        muxer.onGuestPacket(header, data);
      }
    }
  }

  /** Fills the guest's receive buffers with waiting packets. */
  private void processRx() {
    if (!muxer.hasPacketForGuest()) {
      return;
    }
    int usedBefore = rxQueue.usedIndex();
    try {
      while (muxer.hasPacketForGuest()) {
        DescriptorChain chain = rxQueue.pop();
        if (chain == null) {
          break;
        }
        ChainBuffers buffer = ChainBuffers.writable(memory, chain);
        if (buffer.length() < HEADER_SIZE) {
          metrics.invalidPktsCount.incrementAndGet();
          logError(
              "rx chain has "
                  + buffer.length()
                  + " device-writable bytes, less than the "
                  + HEADER_SIZE
                  + "-byte header; returned empty");
          rxQueue.addUsed(chain.head(), 0);
          continue;
        }
        VsockPacketHeader header = muxer.fillPacketForGuest(buffer);
        if (header == null) {
          rxQueue.undoPop();
          break;
        }
        metrics.rxPacketsCount.incrementAndGet();
        metrics.rxBytesCount.addAndGet(header.unsignedLength());
        rxQueue.addUsed(chain.head(), HEADER_SIZE + header.length());
      }
    } catch (VirtqueueException e) {
      metrics.rxQueueEventFails.incrementAndGet();
      logError("invalid rx queue: " + e.getMessage());
      broken = true;
    }
    if (rxQueue.usedIndex() != usedBefore && rxQueue.needsInterrupt(usedBefore)) {
      interrupt.raise(VirtioSpec.INTERRUPT_USED_BUFFER);
    }
  }

  private void logError(String message) {
    errors++;
    if (errors <= LOGGED_ERRORS) {
      LOG.warn("virtio-vsock: {} ({} so far)", message, errors);
    }
  }
}
