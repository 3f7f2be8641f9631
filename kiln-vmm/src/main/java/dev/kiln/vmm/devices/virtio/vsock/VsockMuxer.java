package dev.kiln.vmm.devices.virtio.vsock;

import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_REQUEST;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_RST;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_TYPE_STREAM;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VMADDR_CID_HOST;

import dev.kiln.sys.Epoll;
import dev.kiln.sys.SyscallException;
import dev.kiln.sys.Syscalls;
import dev.kiln.sys.TimerFd;
import dev.kiln.sys.UnixSocket;
import dev.kiln.vmm.devices.EventLoop;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host side of the vsock device in Firecracker's hybrid protocol, over Unix sockets:
 *
 * <ul>
 *   <li>Host-initiated: Kiln listens on {@code uds_path}. A host process connects and sends {@code
 *       CONNECT <port>\n}; Kiln sends the guest a REQUEST to that port and, on the guest's
 *       RESPONSE, writes {@code OK <host port>\n} to the host socket, where the host port is one
 *       Kiln assigns. On RST or a timeout it closes the host socket.
 *   <li>Guest-initiated: a REQUEST to the host's CID on port P makes Kiln connect to {@code
 *       <uds_path>_P}; it sends a RESPONSE when that works and an RST when it does not.
 * </ul>
 *
 * <p>Host sockets are non-blocking and wait in the device's epoll {@link EventLoop}. Every entry
 * point runs under the device lock: the device calls in with it held, and the event handlers go
 * through the {@code gate} the device gives to {@link #start}.
 */
public final class VsockMuxer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(VsockMuxer.class);

  /** The maximum open connections: Firecracker's {@code MAX_CONNECTIONS}. */
  static final int MAX_CONNECTIONS = 1023;

  /** The maximum host connections that have not sent their {@code CONNECT} line yet. */
  static final int MAX_PENDING_HOST_STREAMS = 64;

  /** The time a host connection has to send its {@code CONNECT} line. */
  static final long CONNECT_LINE_TIMEOUT_NANOS = 5_000_000_000L;

  /**
   * The time the guest has to respond to a REQUEST: Firecracker's {@code CONN_REQUEST_TIMEOUT_MS}.
   */
  static final long REQUEST_TIMEOUT_NANOS = 2_000_000_000L;

  /**
   * The time buffered data has to reach the host after the guest closed: Firecracker's {@code
   * CONN_SHUTDOWN_TIMEOUT_MS}.
   */
  static final long SHUTDOWN_TIMEOUT_NANOS = 2_000_000_000L;

  /**
   * The control packets (RST replies) that may wait for receive buffers; at this many the device
   * stops taking packets from the guest until the guest takes some.
   */
  static final int CONTROL_QUEUE_LIMIT = 256;

  /** The longest {@code CONNECT} line, newline included: the word, a space and a u32. */
  static final int MAX_CONNECT_LINE = 20;

  /** How often deadlines are checked while any is set. */
  private static final long TICK_NANOS = 100_000_000L;

  /** The first port Kiln assigns to host-initiated connections, as Firecracker does. */
  private static final int FIRST_LOCAL_PORT = 1 << 30;

  private static final int BACKLOG = 128;
  private static final int LOGGED_WARNINGS = 20;
  private static final Pattern CONNECT_LINE = Pattern.compile("CONNECT ([0-9]{1,10})");

  private final String udsPath;
  private final long guestCid;
  private final VsockMetrics metrics;
  private final LongSupplier clock;
  private final int listenerFd;
  private final TimerFd ticker;
  private final Map<Integer, PendingStream> pendingStreams = new HashMap<>();
  private final Map<ConnectionKey, VsockConnection> connections = new HashMap<>();
  private final LinkedHashSet<ConnectionKey> rxPending = new LinkedHashSet<>();
  private final ArrayDeque<VsockPacketHeader> controlQueue = new ArrayDeque<>();
  private EventLoop loop;
  private Consumer<Runnable> gate;
  private int nextLocalPort = FIRST_LOCAL_PORT;
  private long warnings;
  private boolean tickerArmed;
  private boolean closed;

  /** A host connection that has not sent its {@code CONNECT} line yet. */
  private static final class PendingStream {
    final int fd;
    final long deadlineNanos;
    final StringBuilder line = new StringBuilder();

    PendingStream(int fd, long deadlineNanos) {
      this.fd = fd;
      this.deadlineNanos = deadlineNanos;
    }
  }

  /**
   * Creates the socket file at {@code udsPath} and listens on it; nothing is accepted before {@link
   * #start}.
   *
   * @throws SyscallException naming bind and the path when the socket cannot be made there
   */
  public VsockMuxer(String udsPath, long guestCid, VsockMetrics metrics) throws SyscallException {
    this(udsPath, guestCid, metrics, System::nanoTime);
  }

  VsockMuxer(String udsPath, long guestCid, VsockMetrics metrics, LongSupplier clock)
      throws SyscallException {
    this.udsPath = udsPath;
    this.guestCid = guestCid;
    this.metrics = metrics;
    this.clock = clock;
    this.listenerFd = UnixSocket.listen(udsPath, BACKLOG);
    TimerFd timer;
    try {
      timer = new TimerFd();
    } catch (SyscallException e) {
      Syscalls.close(listenerFd);
      unlinkSocketFile();
      throw e;
    }
    this.ticker = timer;
  }

  /** Returns the path of the listening socket. */
  public String udsPath() {
    return udsPath;
  }

  /**
   * Registers the listener and the deadline timer with {@code loop}.
   *
   * @param gate runs an event handler under the device lock and then lets the device move packets
   */
  void start(EventLoop loop, Consumer<Runnable> gate) throws SyscallException {
    this.loop = loop;
    this.gate = gate;
    loop.register(listenerFd, Epoll.EPOLLIN, events -> gate.accept(this::acceptAll));
    loop.register(ticker.fd(), Epoll.EPOLLIN, events -> gate.accept(this::onTick));
  }

  /** Returns the number of open connections. */
  int connectionCount() {
    return connections.size();
  }

  /** Returns the number of host connections still expected to send their CONNECT line. */
  int pendingStreamCount() {
    return pendingStreams.size();
  }

  /** Returns the connection with this key, or null. */
  VsockConnection connection(ConnectionKey key) {
    return connections.get(key);
  }

  /** Returns false while too many control packets wait, so the device stops reading tx. */
  boolean acceptsGuestPackets() {
    return controlQueue.size() < CONTROL_QUEUE_LIMIT;
  }

  /** Returns true when a packet for the guest is waiting. */
  boolean hasPacketForGuest() {
    return !controlQueue.isEmpty() || !rxPending.isEmpty();
  }

  // ---- Packets from the guest ----

  /**
   * Handles a packet from the guest that passed {@link GuestPacketCheck}.
   *
   * @param data the chain's readable buffers, header first
   */
  void onGuestPacket(VsockPacketHeader header, ChainBuffers data) {
    ConnectionKey key = new ConnectionKey(header.dstPort(), header.srcPort());
    VsockConnection connection = connections.get(key);
    if (connection == null) {
      if (header.op() == VIRTIO_VSOCK_OP_REQUEST) {
        connectToHost(key, header);
      } else if (header.op() != VIRTIO_VSOCK_OP_RST) {
        // virtio 1.2, 5.10.6.4: a packet for no connection gets an RST.
        enqueueReset(header);
      }
      return;
    }
    switch (header.op()) {
      case VIRTIO_VSOCK_OP_RST -> remove(connection, false);
      case VIRTIO_VSOCK_OP_REQUEST -> {
        metrics.invalidPktsCount.incrementAndGet();
        warn("vsock {}: REQUEST for a connection that is open; resetting it", key);
        kill(connection);
      }
      default -> {
        try {
          connection.onGuestPacket(header, data);
        } catch (VsockConnection.ProtocolException e) {
          metrics.invalidPktsCount.incrementAndGet();
          warn("vsock {}: {}; resetting the connection", key, e.getMessage());
          kill(connection);
          return;
        } catch (SyscallException e) {
          metrics.txWriteFails.incrementAndGet();
          warn("vsock {}: sending to the host socket failed: {}", key, e.getMessage());
          kill(connection);
          return;
        }
        afterChange(connection);
      }
    }
  }

  /** Queues an RST in reply to {@code header}, from its destination to its source. */
  void enqueueReset(VsockPacketHeader header) {
    controlQueue.add(
        new VsockPacketHeader(
            VMADDR_CID_HOST,
            guestCid,
            header.dstPort(),
            header.srcPort(),
            0,
            VIRTIO_VSOCK_TYPE_STREAM,
            VIRTIO_VSOCK_OP_RST,
            0,
            0,
            0));
  }

  private void connectToHost(ConnectionKey key, VsockPacketHeader request) {
    if (connections.size() + pendingStreams.size() >= MAX_CONNECTIONS) {
      warn(
          "vsock {}: {} connections are open, the maximum; rejecting the guest connection",
          key,
          MAX_CONNECTIONS);
      enqueueReset(request);
      return;
    }
    String path = udsPath + "_" + Integer.toUnsignedString(key.localPort());
    int fd;
    try {
      fd = UnixSocket.connect(path);
    } catch (SyscallException e) {
      // The usual case when no host program listens on that port; the guest sees ECONNRESET.
      warn("vsock {}: connecting for the guest failed: {}", key, e.getMessage());
      enqueueReset(request);
      return;
    }
    VsockConnection connection = VsockConnection.guestInitiated(key, guestCid, fd, request);
    if (!register(connection)) {
      enqueueReset(request);
      return;
    }
    connections.put(key, connection);
    metrics.connsAdded.incrementAndGet();
    LOG.debug("vsock {}: guest connected to {}", key, path);
    afterChange(connection);
  }

  // ---- Packets to the guest ----

  /**
   * Writes the next packet for the guest into a receive buffer.
   *
   * @param buffer the chain's writable buffers, at least a header long
   * @return the header written, or null when no connection has a packet that fits
   */
  VsockPacketHeader fillPacketForGuest(ChainBuffers buffer) {
    VsockPacketHeader control = controlQueue.poll();
    if (control != null) {
      buffer.write(0, control.encode());
      return control;
    }
    List<ConnectionKey> deferred = new ArrayList<>();
    VsockPacketHeader header = null;
    while (header == null && !rxPending.isEmpty()) {
      Iterator<ConnectionKey> first = rxPending.iterator();
      ConnectionKey key = first.next();
      first.remove();
      VsockConnection connection = connections.get(key);
      if (connection == null) {
        continue;
      }
      try {
        header = connection.fillPacketForGuest(buffer);
      } catch (SyscallException e) {
        metrics.rxReadFails.incrementAndGet();
        warn("vsock {}: reading the host socket failed: {}", key, e.getMessage());
        kill(connection);
        // The RST just queued is the packet for this buffer.
        control = controlQueue.poll();
        if (control != null) {
          buffer.write(0, control.encode());
          header = control;
        }
        continue;
      }
      if (header == null) {
        deferred.add(key);
      }
      afterChange(connection);
    }
    // Connections with nothing for a buffer this small go back to the end.
    rxPending.addAll(deferred);
    return header;
  }

  // ---- Host sockets ----

  private void acceptAll() {
    while (!closed) {
      int fd;
      try {
        fd = UnixSocket.accept(listenerFd);
      } catch (SyscallException e) {
        metrics.muxerEventFails.incrementAndGet();
        warn("vsock: accepting on {} failed: {}", udsPath, e.getMessage());
        return;
      }
      if (fd < 0) {
        return;
      }
      if (pendingStreams.size() >= MAX_PENDING_HOST_STREAMS
          || connections.size() + pendingStreams.size() >= MAX_CONNECTIONS) {
        metrics.muxerEventFails.incrementAndGet();
        warn(
            "vsock: rejecting a host connection on {}: {} open and {} waiting for CONNECT, the"
                + " maximum is {} and {}",
            udsPath,
            connections.size(),
            pendingStreams.size(),
            MAX_CONNECTIONS,
            MAX_PENDING_HOST_STREAMS);
        closeQuietly(fd);
        continue;
      }
      PendingStream stream = new PendingStream(fd, clock.getAsLong() + CONNECT_LINE_TIMEOUT_NANOS);
      try {
        loop.register(fd, Epoll.EPOLLIN, events -> gate.accept(() -> readConnectLine(stream)));
      } catch (SyscallException e) {
        metrics.muxerEventFails.incrementAndGet();
        warn("vsock: watching a host connection failed: {}", e.getMessage());
        closeQuietly(fd);
        continue;
      }
      pendingStreams.put(fd, stream);
      armTicker();
    }
  }

  /** Reads the CONNECT line a byte at a time, so that no data after it is taken from the socket. */
  private void readConnectLine(PendingStream stream) {
    if (!pendingStreams.containsKey(stream.fd)) {
      return;
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment one = arena.allocate(1);
      while (true) {
        long read = Syscalls.read(stream.fd, one, 1);
        if (read < 0) {
          return;
        }
        if (read == 0) {
          rejectStream(stream, "closed before a complete CONNECT line");
          return;
        }
        char c = (char) (one.get(ValueLayout.JAVA_BYTE, 0) & 0xff);
        if (c == '\n') {
          break;
        }
        stream.line.append(c);
        if (stream.line.length() >= MAX_CONNECT_LINE) {
          rejectStream(stream, "sent a line longer than " + MAX_CONNECT_LINE + " bytes");
          return;
        }
      }
    } catch (SyscallException e) {
      rejectStream(stream, "could not be read: " + e.getMessage());
      return;
    }
    Matcher matcher = CONNECT_LINE.matcher(stream.line);
    long port = matcher.matches() ? Long.parseLong(matcher.group(1)) : -1;
    if (port < 0 || port > 0xffff_ffffL) {
      rejectStream(
          stream, "sent \"" + printable(stream.line) + "\"; expected CONNECT <port>, port < 2^32");
      return;
    }
    connectToGuest(stream, (int) port);
  }

  private void connectToGuest(PendingStream stream, int peerPort) {
    pendingStreams.remove(stream.fd);
    ConnectionKey key = new ConnectionKey(allocateLocalPort(peerPort), peerPort);
    VsockConnection connection = VsockConnection.hostInitiated(key, guestCid, stream.fd);
    try {
      loop.unregister(stream.fd);
    } catch (SyscallException e) {
      metrics.muxerEventFails.incrementAndGet();
      warn("vsock: changing the watch on a host connection failed: {}", e.getMessage());
      closeQuietly(stream.fd);
      return;
    }
    if (!register(connection)) {
      closeQuietly(stream.fd);
      return;
    }
    connection.setDeadlineNanos(clock.getAsLong() + REQUEST_TIMEOUT_NANOS);
    connections.put(key, connection);
    metrics.connsAdded.incrementAndGet();
    LOG.debug("vsock {}: host asked to connect to guest port {}", key, peerPort);
    afterChange(connection);
  }

  private int allocateLocalPort(int peerPort) {
    while (true) {
      int port = nextLocalPort;
      nextLocalPort = nextLocalPort == -1 ? FIRST_LOCAL_PORT : nextLocalPort + 1;
      if (!connections.containsKey(new ConnectionKey(port, peerPort))) {
        return port;
      }
    }
  }

  private void rejectStream(PendingStream stream, String reason) {
    metrics.muxerEventFails.incrementAndGet();
    warn("vsock: host connection on {} {}; closing it", udsPath, reason);
    pendingStreams.remove(stream.fd);
    unregisterQuietly(stream.fd);
    closeQuietly(stream.fd);
  }

  private boolean register(VsockConnection connection) {
    int interest = connection.interest();
    int fd = connection.hostFd();
    try {
      loop.register(fd, interest, events -> gate.accept(() -> onHostEvent(connection, events)));
      connection.setRegisteredInterest(interest);
      return true;
    } catch (SyscallException e) {
      metrics.connEventFails.incrementAndGet();
      warn("vsock {}: watching the host socket failed: {}", connection.key(), e.getMessage());
      connection.close();
      return false;
    }
  }

  private void onHostEvent(VsockConnection connection, int events) {
    if (connections.get(connection.key()) != connection) {
      return;
    }
    try {
      connection.onHostEvent(events);
    } catch (SyscallException e) {
      metrics.txFlushFails.incrementAndGet();
      metrics.connEventFails.incrementAndGet();
      warn("vsock {}: sending to the host socket failed: {}", connection.key(), e.getMessage());
      kill(connection);
      return;
    }
    if (connection.hostHungUp() && connection.state() == VsockConnection.State.REQUEST_PENDING) {
      // The host gave up before the guest responded.
      if (connection.requestSent()) {
        kill(connection);
      } else {
        remove(connection, false);
      }
      return;
    }
    afterChange(connection);
  }

  /** Brings epoll, the rx list and the timer in line with a connection after it changed. */
  private void afterChange(VsockConnection connection) {
    if (connections.get(connection.key()) != connection) {
      return;
    }
    if (connection.closeComplete()) {
      // The guest closed and all its data reached the host: the RST ends it on both sides.
      remove(connection, true);
      return;
    }
    if (connection.state() == VsockConnection.State.CLOSING && connection.deadlineNanos() == 0) {
      connection.setDeadlineNanos(clock.getAsLong() + SHUTDOWN_TIMEOUT_NANOS);
    }
    int fd = connection.hostFd();
    if (connection.hostHungUp()) {
      // A hung-up socket stays ready for ever; read what is left without epoll.
      if (connection.registeredInterest() != -1) {
        unregisterQuietly(fd);
        connection.setRegisteredInterest(-1);
      }
    } else {
      int interest = connection.interest();
      if (interest != connection.registeredInterest()) {
        try {
          loop.modify(fd, interest);
          connection.setRegisteredInterest(interest);
        } catch (SyscallException e) {
          metrics.connEventFails.incrementAndGet();
          warn("vsock {}: changing the watch failed: {}", connection.key(), e.getMessage());
          kill(connection);
          return;
        }
      }
    }
    if (connection.hasPacketForGuest()) {
      rxPending.add(connection.key());
    }
    if (connection.deadlineNanos() != 0) {
      armTicker();
    }
  }

  // ---- Deadlines ----

  private void armTicker() {
    if (tickerArmed || closed) {
      return;
    }
    try {
      ticker.arm(TICK_NANOS);
      tickerArmed = true;
    } catch (SyscallException e) {
      metrics.muxerEventFails.incrementAndGet();
      warn("vsock: arming the timeout timer failed: {}", e.getMessage());
    }
  }

  private void onTick() {
    try {
      ticker.drain();
    } catch (SyscallException e) {
      metrics.muxerEventFails.incrementAndGet();
    }
    tickerArmed = false;
    checkDeadlines();
  }

  /** Ends host connections and guest connections whose deadline has passed. */
  void checkDeadlines() {
    long now = clock.getAsLong();
    boolean more = false;
    for (PendingStream stream : List.copyOf(pendingStreams.values())) {
      if (now - stream.deadlineNanos >= 0) {
        rejectStream(
            stream,
            "sent no CONNECT line within " + CONNECT_LINE_TIMEOUT_NANOS / 1_000_000 + " ms");
      } else {
        more = true;
      }
    }
    for (VsockConnection connection : List.copyOf(connections.values())) {
      long deadline = connection.deadlineNanos();
      if (deadline == 0) {
        continue;
      }
      if (now - deadline >= 0) {
        warn(
            "vsock {}: {}; resetting the connection",
            connection.key(),
            connection.state() == VsockConnection.State.REQUEST_PENDING
                ? "the guest did not respond to the REQUEST within "
                    + REQUEST_TIMEOUT_NANOS / 1_000_000
                    + " ms"
                : "the host did not take the guest's last data within "
                    + SHUTDOWN_TIMEOUT_NANOS / 1_000_000
                    + " ms");
        kill(connection);
      } else {
        more = true;
      }
    }
    if (more) {
      armTicker();
    }
  }

  // ---- Ending connections ----

  /** Ends a connection because of an error or timeout: closes the host side, RSTs the guest. */
  private void kill(VsockConnection connection) {
    metrics.connsKilled.incrementAndGet();
    boolean guestKnows =
        connection.state() != VsockConnection.State.REQUEST_PENDING || connection.requestSent();
    remove(connection, guestKnows);
  }

  private void remove(VsockConnection connection, boolean resetGuest) {
    if (connections.remove(connection.key()) != connection) {
      return;
    }
    rxPending.remove(connection.key());
    if (resetGuest) {
      controlQueue.add(connection.resetHeader());
    }
    if (connection.registeredInterest() != -1) {
      unregisterQuietly(connection.hostFd());
    }
    connection.close();
    metrics.connsRemoved.incrementAndGet();
    LOG.debug("vsock {}: removed", connection.key());
  }

  /** Ends every connection without telling the guest, as after a device reset. */
  void removeAll() {
    for (VsockConnection connection : List.copyOf(connections.values())) {
      remove(connection, false);
    }
    controlQueue.clear();
    rxPending.clear();
  }

  /**
   * Closes every socket and removes the socket file at {@code uds_path}. Call it after the event
   * loop has stopped; closing a descriptor also takes it out of the epoll set.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    loop = null;
    removeAll();
    for (PendingStream stream : List.copyOf(pendingStreams.values())) {
      unregisterQuietly(stream.fd);
      closeQuietly(stream.fd);
    }
    pendingStreams.clear();
    closed = true;
    closeQuietly(listenerFd);
    try {
      ticker.close();
    } catch (SyscallException e) {
      LOG.debug("vsock: closing the timer failed: {}", e.getMessage());
    }
    unlinkSocketFile();
  }

  private void unlinkSocketFile() {
    try {
      Files.deleteIfExists(Path.of(udsPath));
    } catch (IOException e) {
      LOG.warn("vsock: removing the socket file {} failed: {}", udsPath, e.getMessage());
    }
  }

  private void unregisterQuietly(int fd) {
    if (loop == null) {
      return;
    }
    try {
      loop.unregister(fd);
    } catch (SyscallException e) {
      LOG.debug("vsock: removing fd {} from epoll failed: {}", fd, e.getMessage());
    }
  }

  private static void closeQuietly(int fd) {
    try {
      Syscalls.close(fd);
    } catch (SyscallException e) {
      LOG.debug("vsock: closing fd {} failed: {}", fd, e.getMessage());
    }
  }

  private void warn(String format, Object... arguments) {
    warnings++;
    if (warnings <= LOGGED_WARNINGS) {
      LOG.warn(format, arguments);
    } else if (warnings == LOGGED_WARNINGS + 1) {
      LOG.warn("vsock: more than {} warnings; logging no more", LOGGED_WARNINGS);
    }
  }

  private static String printable(CharSequence text) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      out.append(c >= ' ' && c <= '~' ? String.valueOf(c) : String.format("\\x%02x", (int) c));
    }
    return out.toString();
  }
}
