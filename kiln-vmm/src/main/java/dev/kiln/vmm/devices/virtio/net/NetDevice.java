package dev.kiln.vmm.devices.virtio.net;

import dev.kiln.vmm.devices.virtio.Descriptor;
import dev.kiln.vmm.devices.virtio.DescriptorChain;
import dev.kiln.vmm.devices.virtio.VirtioDevice;
import dev.kiln.vmm.devices.virtio.VirtioInterrupt;
import dev.kiln.vmm.devices.virtio.VirtioSpec;
import dev.kiln.vmm.devices.virtio.Virtqueue;
import dev.kiln.vmm.devices.virtio.VirtqueueException;
import dev.kiln.vmm.memory.GuestMemory;
import dev.kiln.vmm.ratelimiter.RateLimiter;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The virtio network device (virtio 1.2, 5.1) on a host TAP, with Firecracker's {@code
 * network-interfaces} semantics: one receive and one transmit queue, Firecracker's features
 * (checksum and segmentation offloads both ways, mergeable receive buffers, event index, and the
 * MAC address and MTU when configured), and frames passed between the guest and the TAP with their
 * virtio-net headers as they are.
 *
 * <p>Transmit: each chain is one frame, header included, written to the TAP in one {@code writev}
 * straight from guest memory. Receive: a frame read from the TAP goes into the receive chains the
 * guest gave, over several with mergeable buffers. While the guest gives too few, the frame waits
 * in the device, the TAP is not watched (so the event loop does not spin on it) and the guest's
 * next receive queue notification resumes; frames the kernel queues meanwhile wait in the TAP.
 *
 * <p>Both directions have optional rate limiters whose timers resume the held-back direction. All
 * work runs on the event loop thread. A bad chain is dropped and counted in {@link NetMetrics}; a
 * driver that breaks the ring rules stops the device until it resets it. No guest input makes a
 * handler throw.
 */
public final class NetDevice implements VirtioDevice, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(NetDevice.class);

  /** Each queue's maximum size, as Firecracker's. */
  public static final int QUEUE_SIZE = 256;

  /** The receive queue's index. */
  public static final int RX_QUEUE = 0;

  /** The transmit queue's index. */
  public static final int TX_QUEUE = 1;

  /**
   * The most frames one TAP event moves to the guest before the loop serves other descriptors; the
   * TAP stays readable, so the loop comes back.
   */
  static final int RX_FRAMES_PER_EVENT = 128;

  private static final int LOGGED_GUEST_ERRORS = 10;
  private static final int LOGGED_HOST_ERRORS = 10;
  private static final int LOGGED_QUEUE_FAILURES = 10;

  private final String ifaceId;
  private final TapIo tap;
  private final RateLimiter rxLimiter;
  private final RateLimiter txLimiter;
  private final Runnable needsReset;
  private final long features;
  private final byte[] config = new byte[VirtioNetSpec.CONFIG_SIZE];
  private final Virtqueue rxQueue = new Virtqueue(QUEUE_SIZE);
  private final Virtqueue txQueue = new Virtqueue(QUEUE_SIZE);
  private final NetMetrics metrics = new NetMetrics();
  private final AtomicLong guestErrors = new AtomicLong();
  private final AtomicLong hostErrors = new AtomicLong();
  private final AtomicLong queueFailures = new AtomicLong();
  private final Arena arena = Arena.ofAuto();
  private final MemorySegment rxFrame = arena.allocate(VirtioNetSpec.MAX_BUFFER_SIZE, 16);
  private final RxBuffers rxBuffers = new RxBuffers();

  // Guarded by this: activate and reset come from a vCPU, the rest from the event loop.
  private GuestMemory memory;
  private VirtioInterrupt interrupt;
  private boolean active;
  private boolean broken;
  private boolean mergeable;
  private int minimumRxChain;
  private int pendingLength;
  private boolean tapWatched;

  /**
   * Creates the device.
   *
   * @param ifaceId the interface id, for logs
   * @param tap the host side; the device closes it
   * @param mac the MAC address to offer, 6 bytes, or null to let the guest choose one
   * @param mtu the MTU to offer, or null for none
   * @param rxLimiter limits frames to the guest, or null; its timer must call {@link
   *     #onRxRateLimiterTimer}. The device closes it
   * @param txLimiter limits frames from the guest, or null; its timer must call {@link
   *     #onTxRateLimiterTimer}. The device closes it
   * @param needsReset called when the driver breaks the virtqueue rules, so that the transport sets
   *     {@code DEVICE_NEEDS_RESET}
   */
  public NetDevice(
      String ifaceId,
      TapIo tap,
      byte[] mac,
      Integer mtu,
      RateLimiter rxLimiter,
      RateLimiter txLimiter,
      Runnable needsReset) {
    this.ifaceId = ifaceId;
    this.tap = tap;
    this.rxLimiter = rxLimiter;
    this.txLimiter = txLimiter;
    this.needsReset = needsReset;
    long offered = VirtioNetSpec.BASE_FEATURES;
    if (mac != null) {
      if (mac.length != 6) {
        throw new IllegalArgumentException("a MAC address has 6 bytes, not " + mac.length);
      }
      System.arraycopy(mac, 0, config, VirtioNetSpec.CONFIG_MAC, 6);
      offered |= VirtioSpec.feature(VirtioNetSpec.VIRTIO_NET_F_MAC);
    }
    if (mtu != null) {
      putU16(VirtioNetSpec.CONFIG_MTU, mtu);
      offered |= VirtioSpec.feature(VirtioNetSpec.VIRTIO_NET_F_MTU);
    }
    // VIRTIO_NET_F_STATUS is not offered, as in Firecracker, so the driver takes the link as up
    // and does not read these; they say the same.
    putU16(VirtioNetSpec.CONFIG_STATUS, VirtioNetSpec.VIRTIO_NET_S_LINK_UP);
    putU16(VirtioNetSpec.CONFIG_MAX_VIRTQUEUE_PAIRS, 1);
    this.features = offered;
  }

  private void putU16(int offset, int value) {
    config[offset] = (byte) value;
    config[offset + 1] = (byte) (value >>> 8);
  }

  /** Returns the interface id. */
  public String ifaceId() {
    return ifaceId;
  }

  /** Returns the device's counters. */
  public NetMetrics metrics() {
    return metrics;
  }

  /** Returns the receive rate limiter, or null. */
  public RateLimiter rxRateLimiter() {
    return rxLimiter;
  }

  /** Returns the transmit rate limiter, or null. */
  public RateLimiter txRateLimiter() {
    return txLimiter;
  }

  @Override
  public int deviceType() {
    return VirtioSpec.DEVICE_ID_NET;
  }

  @Override
  public long availableFeatures() {
    return features;
  }

  @Override
  public List<Virtqueue> queues() {
    return List.of(rxQueue, txQueue);
  }

  @Override
  public long readConfig(int offset, int size) {
    if (offset < 0 || size < 1 || size > 8 || offset > config.length - size) {
      metrics.cfgFails.incrementAndGet();
      guestError(
          String.format(
              "configuration read of %d bytes at offset %d goes past the %d bytes the device has",
              size, offset, config.length));
      if (offset < 0 || size < 1 || size > 8) {
        return 0;
      }
    }
    long value = 0;
    for (int i = 0; i < size && offset + i < config.length; i++) {
      value |= (config[offset + i] & 0xffL) << (8 * i);
    }
    return value;
  }

  /** Drops the write: the MAC is read-only without {@code VIRTIO_NET_F_CTRL_MAC_ADDR}. */
  @Override
  public void writeConfig(int offset, int size, long value) {
    metrics.cfgFails.incrementAndGet();
    guestError(
        String.format(
            "configuration write of %d bytes at offset %d dropped; the fields are read-only",
            size, offset));
  }

  @Override
  public synchronized void activate(
      GuestMemory memory, long negotiated, VirtioInterrupt interrupt) {
    if (!rxQueue.isActive() || !txQueue.isActive()) {
      metrics.activateFails.incrementAndGet();
      LOG.warn(
          "virtio-net {}: the driver started the device without making both queues ready; no"
              + " frames will move",
          ifaceId);
      return;
    }
    try {
      tap.setOffload(VirtioNetSpec.tapOffloadFlags(negotiated));
    } catch (IOException e) {
      // Without offloads the TAP hands over plain frames, which every driver takes.
      metrics.activateFails.incrementAndGet();
      LOG.warn(
          "virtio-net {}: cannot set the offloads of TAP {}: {}; frames go without them",
          ifaceId,
          tap.name(),
          e.getMessage());
    }
    this.memory = memory;
    this.interrupt = interrupt;
    this.mergeable = VirtioNetSpec.has(negotiated, VirtioNetSpec.VIRTIO_NET_F_MRG_RXBUF);
    this.minimumRxChain = VirtioNetSpec.minimumRxChain(negotiated);
    this.active = true;
    this.broken = false;
    this.pendingLength = 0;
    rxBuffers.clear();
    watchTap(true);
    LOG.debug(
        "virtio-net {}: active on TAP {} with features 0x{}",
        ifaceId,
        tap.name(),
        Long.toHexString(negotiated));
  }

  @Override
  public synchronized void reset() {
    active = false;
    broken = false;
    memory = null;
    interrupt = null;
    pendingLength = 0;
    rxBuffers.clear();
    watchTap(false);
  }

  @Override
  public void processQueue(int index) {
    boolean failed;
    synchronized (this) {
      if (index == RX_QUEUE) {
        if (active && !broken) {
          metrics.rxQueueEventCount.incrementAndGet();
        }
        failed = receive();
      } else if (index == TX_QUEUE) {
        if (active && !broken) {
          metrics.txQueueEventCount.incrementAndGet();
        }
        failed = transmit();
      } else {
        failed = false;
      }
    }
    if (failed) {
      // Outside this device's lock: MmioTransport.fail takes the transport's lock, which the
      // transport holds when it calls reset() or activate() here.
      needsReset.run();
    }
  }

  /** Moves frames from the TAP to the guest; the event loop calls it when the TAP is readable. */
  public void onTapReadable() {
    boolean failed;
    synchronized (this) {
      metrics.rxTapEventCount.incrementAndGet();
      failed = receive();
    }
    if (failed) {
      needsReset.run();
    }
  }

  /** Unblocks the receive limiter after its timer fired and resumes receiving. */
  public void onRxRateLimiterTimer() {
    if (rxLimiter == null) {
      return;
    }
    rxLimiter.onTimer();
    metrics.rxEventRateLimiterCount.incrementAndGet();
    boolean failed;
    synchronized (this) {
      failed = receive();
    }
    if (failed) {
      needsReset.run();
    }
  }

  /** Unblocks the transmit limiter after its timer fired and resumes transmitting. */
  public void onTxRateLimiterTimer() {
    if (txLimiter == null) {
      return;
    }
    txLimiter.onTimer();
    metrics.txRateLimiterEventCount.incrementAndGet();
    boolean failed;
    synchronized (this) {
      failed = transmit();
    }
    if (failed) {
      needsReset.run();
    }
  }

  // Receive

  /**
   * Delivers the held frame, then reads and delivers more until the TAP is empty, the guest's
   * buffers run out, the limiter stops it or the per-event budget is spent. Returns true when the
   * queue broke.
   */
  private boolean receive() {
    if (!active || broken) {
      watchTap(false);
      return false;
    }
    int usedBefore = rxQueue.usedIndex();
    try {
      receiveFrames();
    } catch (VirtqueueException e) {
      stop("the driver broke the receive queue rules: " + e.getMessage(), null);
    } catch (RuntimeException e) {
      stop("receiving failed: " + e, e);
    }
    long rejected = rxBuffers.takeRejected();
    if (rejected > 0) {
      metrics.rxFails.addAndGet(rejected);
      guestError(
          rejected
              + " receive chain(s) returned unused: a device-readable buffer, or less than "
              + minimumRxChain
              + " bytes of room");
    }
    signal(rxQueue, usedBefore);
    return broken;
  }

  private void receiveFrames() throws VirtqueueException {
    for (int frames = 0; frames < RX_FRAMES_PER_EVENT; frames++) {
      if (pendingLength == 0) {
        if (rxLimiter != null && rxLimiter.blocked()) {
          // Its timer resumes receiving.
          metrics.rxRateLimiterThrottled.incrementAndGet();
          watchTap(false);
          return;
        }
        // Read only once the guest has a buffer, so that frames wait in the TAP, not here.
        rxBuffers.fill(rxQueue, 1, minimumRxChain);
        if (rxBuffers.size() == 0) {
          metrics.noRxAvailBuffer.incrementAndGet();
          watchTap(false);
          return;
        }
        int length;
        try {
          length = tap.read(rxFrame);
        } catch (IOException e) {
          // Not EAGAIN: the TAP is broken, perhaps deleted. Stop watching it, or a level-triggered
          // error would spin the loop; the next receive queue notification tries again.
          metrics.tapReadFails.incrementAndGet();
          metrics.eventFails.incrementAndGet();
          hostError("reading TAP " + tap.name() + " failed: " + e.getMessage());
          watchTap(false);
          return;
        }
        if (length < 0) {
          watchTap(true);
          return;
        }
        if (length < VirtioNetSpec.HEADER_SIZE) {
          metrics.rxFails.incrementAndGet();
          hostError("TAP " + tap.name() + " gave a frame of " + length + " bytes, without header");
          continue;
        }
        pendingLength = length;
      }
      if (!deliverPending()) {
        return;
      }
    }
    watchTap(true);
  }

  /** Tries to put the held frame into the guest; returns false when it must wait. */
  private boolean deliverPending() throws VirtqueueException {
    // Check for buffers before taking tokens, so that a frame that waits costs none.
    if (mergeable) {
      rxBuffers.fill(rxQueue, pendingLength, minimumRxChain);
      boolean fits = rxBuffers.capacity() >= pendingLength;
      if (!fits && rxBuffers.size() < rxQueue.size()) {
        metrics.noRxAvailBuffer.incrementAndGet();
        watchTap(false);
        return false;
      }
    } else {
      rxBuffers.fill(rxQueue, 1, minimumRxChain);
      if (rxBuffers.size() == 0) {
        metrics.noRxAvailBuffer.incrementAndGet();
        watchTap(false);
        return false;
      }
    }
    if (rxLimiter != null && !rxLimiter.consume(pendingLength)) {
      metrics.rxRateLimiterThrottled.incrementAndGet();
      watchTap(false);
      return false;
    }
    RxBuffers.Outcome outcome =
        rxBuffers.deliver(rxQueue, memory, rxFrame, pendingLength, mergeable, minimumRxChain);
    switch (outcome) {
      case DELIVERED -> {
        metrics.rxBytesCount.addAndGet(pendingLength);
        metrics.rxPacketsCount.incrementAndGet();
        metrics.rxCount.incrementAndGet();
      }
      case DROPPED -> {
        metrics.rxFails.incrementAndGet();
        guestError(
            String.format(
                "a %d-byte frame from the TAP does not fit the receive buffers (%d bytes in %d"
                    + " chains); dropped",
                pendingLength, rxBuffers.capacity(), rxBuffers.size()));
      }
      case WAIT -> {
        // Not reached: the checks above found room. Keep the frame rather than lose it.
        watchTap(false);
        return false;
      }
    }
    pendingLength = 0;
    return true;
  }

  // Transmit

  /** Sends the frames in the transmit queue; returns true when the queue broke. */
  private boolean transmit() {
    if (!active || broken) {
      return false;
    }
    int usedBefore = txQueue.usedIndex();
    try {
      transmitFrames();
    } catch (VirtqueueException e) {
      stop("the driver broke the transmit queue rules: " + e.getMessage(), null);
    } catch (RuntimeException e) {
      stop("transmitting failed: " + e, e);
    }
    signal(txQueue, usedBefore);
    return broken;
  }

  private void transmitFrames() throws VirtqueueException {
    boolean any = false;
    DescriptorChain chain;
    while ((chain = txQueue.pop()) != null) {
      any = true;
      TxFrame frame = TxFrame.gather(chain, memory);
      if (frame.problem() != null) {
        if (frame.malformed()) {
          metrics.txMalformedFrames.incrementAndGet();
        } else {
          metrics.txFails.incrementAndGet();
        }
        guestError("transmit chain " + chain.head() + " dropped: " + frame.problem());
        txQueue.addUsed(chain.head(), 0);
        continue;
      }
      if (txLimiter != null && !txLimiter.consume(frame.length())) {
        // The frame stays in the ring; the limiter's timer takes it again.
        txQueue.undoPop();
        metrics.txRateLimiterThrottled.incrementAndGet();
        break;
      }
      send(frame);
      txQueue.addUsed(chain.head(), 0);
    }
    if (!any) {
      metrics.noTxAvailBuffer.incrementAndGet();
    }
  }

  private void send(TxFrame frame) {
    long written;
    try {
      written = tap.write(frame.segments());
    } catch (IOException e) {
      // EINVAL for a header the kernel refuses (a bad GSO type), EIO when the TAP is down: the
      // frame is dropped, as a NIC drops what it cannot send.
      metrics.tapWriteFails.incrementAndGet();
      hostError(
          "writing a "
              + frame.length()
              + "-byte frame to TAP "
              + tap.name()
              + " failed: "
              + e.getMessage());
      return;
    }
    if (written < 0) {
      metrics.tapWriteFails.incrementAndGet();
      hostError("TAP " + tap.name() + " is full; a frame was dropped");
      return;
    }
    metrics.txBytesCount.addAndGet(frame.length());
    metrics.txPacketsCount.incrementAndGet();
    metrics.txCount.incrementAndGet();
  }

  /**
   * One transmit chain checked and mapped onto guest memory: the frame's buffers, or why it cannot
   * be sent.
   *
   * @param segments the frame's non-empty buffers in guest memory, header first
   * @param length the frame's length, header included
   * @param problem why the chain is dropped, or null
   * @param malformed whether the problem is the frame's size ({@code tx_malformed_frames}) rather
   *     than device-writable buffers ({@code tx_fails})
   */
  record TxFrame(List<MemorySegment> segments, long length, String problem, boolean malformed) {
    /** Checks a transmit chain and gathers its buffers. */
    static TxFrame gather(DescriptorChain chain, GuestMemory memory) {
      long length = 0;
      for (Descriptor d : chain.descriptors()) {
        if (d.writable()) {
          return new TxFrame(
              List.of(),
              0,
              "it has device-writable buffers, which a transmit chain must not",
              false);
        }
        length += Integer.toUnsignedLong(d.length());
      }
      if (length < VirtioNetSpec.HEADER_SIZE) {
        return new TxFrame(
            List.of(),
            length,
            length + " bytes is less than the " + VirtioNetSpec.HEADER_SIZE + "-byte header",
            true);
      }
      if (length > VirtioNetSpec.MAX_BUFFER_SIZE) {
        return new TxFrame(
            List.of(),
            length,
            length + " bytes is more than the largest frame, " + VirtioNetSpec.MAX_BUFFER_SIZE,
            true);
      }
      List<MemorySegment> segments = new ArrayList<>(chain.descriptors().size());
      for (Descriptor d : chain.descriptors()) {
        if (d.length() != 0) {
          segments.add(memory.slice(d.address(), d.length()));
        }
      }
      return new TxFrame(segments, length, null, false);
    }
  }

  // Shared

  private void signal(Virtqueue queue, int usedBefore) {
    if (interrupt == null) {
      return;
    }
    try {
      if (queue.usedIndex() != usedBefore && queue.needsInterrupt(usedBefore)) {
        interrupt.raise(VirtioSpec.INTERRUPT_USED_BUFFER);
      }
    } catch (RuntimeException e) {
      stop("raising the interrupt failed: " + e, e);
    }
  }

  private void watchTap(boolean watched) {
    if (tapWatched == watched) {
      return;
    }
    try {
      tap.watch(watched);
      tapWatched = watched;
    } catch (IOException e) {
      metrics.eventFails.incrementAndGet();
      hostError(
          (watched ? "watching" : "unwatching")
              + " TAP "
              + tap.name()
              + " failed: "
              + e.getMessage());
    }
  }

  /** Marks the device broken until the next reset and logs why, with its own repeat limit. */
  private void stop(String reason, RuntimeException bug) {
    broken = true;
    pendingLength = 0;
    rxBuffers.clear();
    watchTap(false);
    metrics.eventFails.incrementAndGet();
    long count = queueFailures.incrementAndGet();
    if (count <= LOGGED_QUEUE_FAILURES) {
      LOG.error(
          "virtio-net {}: {}; the device needs a reset (queue failure {}{})",
          ifaceId,
          reason,
          count,
          count == LOGGED_QUEUE_FAILURES ? "; later ones are counted, not logged" : "",
          bug);
    }
  }

  private void guestError(String message) {
    long count = guestErrors.incrementAndGet();
    if (count <= LOGGED_GUEST_ERRORS) {
      LOG.warn(
          "virtio-net {}: {} (guest error {}{})",
          ifaceId,
          message,
          count,
          count == LOGGED_GUEST_ERRORS ? "; later ones are counted, not logged" : "");
    }
  }

  private void hostError(String message) {
    long count = hostErrors.incrementAndGet();
    if (count <= LOGGED_HOST_ERRORS) {
      LOG.warn(
          "virtio-net {}: {} (host error {}{})",
          ifaceId,
          message,
          count,
          count == LOGGED_HOST_ERRORS ? "; later ones are counted, not logged" : "");
    }
  }

  /** Closes the TAP and the rate limiters. */
  @Override
  public synchronized void close() throws IOException {
    try {
      tap.close();
    } finally {
      try {
        if (rxLimiter != null) {
          rxLimiter.close();
        }
      } finally {
        if (txLimiter != null) {
          txLimiter.close();
        }
      }
    }
  }
}
