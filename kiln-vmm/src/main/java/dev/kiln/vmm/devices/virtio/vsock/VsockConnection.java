package dev.kiln.vmm.devices.virtio.vsock;

import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.HEADER_SIZE;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.MAX_PACKET_DATA;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_CREDIT_REQUEST;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_CREDIT_UPDATE;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_REQUEST;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_RESPONSE;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_RST;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_RW;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_SHUTDOWN;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_SHUTDOWN_RCV;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_SHUTDOWN_SEND;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_TYPE_STREAM;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VMADDR_CID_HOST;

import dev.kiln.sys.Epoll;
import dev.kiln.sys.SyscallException;
import dev.kiln.sys.Syscalls;
import dev.kiln.sys.UnixSocket;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * One stream between a guest vsock port and a host Unix socket: its state and the credit-based flow
 * control of virtio 1.2, 5.10.6.3 in both directions.
 *
 * <p>Guest to host: the device advertises {@link #BUF_ALLOC} bytes and counts in {@code fwd_cnt}
 * the bytes the host socket has taken. Data goes straight from guest memory to the socket, and what
 * the socket does not take waits in a {@link TxBuffer} of that size.
 *
 * <p>Host to guest: the device sends no more than the guest's {@code buf_alloc} less the bytes in
 * flight ({@code tx_cnt - fwd_cnt}). Data goes straight from the socket into the guest's receive
 * buffers. While the guest has no credit the socket is not read, so the host writer blocks.
 *
 * <p>Not thread-safe: {@link VsockMuxer} calls it under the device lock.
 */
final class VsockConnection implements AutoCloseable {
  /** The receive buffer advertised to the guest: Firecracker's {@code CONN_TX_BUF_SIZE}. */
  static final int BUF_ALLOC = 64 * 1024;

  /**
   * When the guest's view of the free buffer falls below this, the device sends a CREDIT_UPDATE:
   * Firecracker's {@code CONN_CREDIT_UPDATE_THRESHOLD}.
   */
  static final int CREDIT_UPDATE_THRESHOLD = 4 * 1024;

  /** The connection's phase. */
  enum State {
    /** Host-initiated: waiting to send the REQUEST or for the guest's RESPONSE. */
    REQUEST_PENDING,
    /** Data flows, possibly in one direction only after a SHUTDOWN. */
    ESTABLISHED,
    /** The guest shut down both directions; the device flushes to the host, then sends RST. */
    CLOSING
  }

  private final ConnectionKey key;
  private final long guestCid;
  private final int hostFd;
  private final TxBuffer txBuffer = new TxBuffer(BUF_ALLOC);
  private State state;

  // Guest to host, unsigned 32-bit counters that wrap.
  private int receivedFromGuest;
  private int forwardedToHost;
  private int lastFwdCntToGuest;

  // Host to guest.
  private int sentToGuest;
  private int peerBufAlloc;
  private int peerFwdCnt;

  private boolean hostReadable;
  private boolean hostEof;
  private boolean hostHungUp;
  private boolean hostWriteShut;
  private boolean guestShutdownRecv;
  private boolean guestShutdownSend;

  private boolean pendingRequest;
  private boolean pendingResponse;
  private boolean pendingShutdown;
  private boolean pendingCreditUpdate;
  private boolean creditRequested;

  private long deadlineNanos;
  private int registeredInterest = -1;

  private VsockConnection(ConnectionKey key, long guestCid, int hostFd, State state) {
    this.key = key;
    this.guestCid = guestCid;
    this.hostFd = hostFd;
    this.state = state;
  }

  /**
   * Creates a connection that a host process asked for with {@code CONNECT}; the REQUEST to the
   * guest is pending.
   */
  static VsockConnection hostInitiated(ConnectionKey key, long guestCid, int hostFd) {
    VsockConnection connection = new VsockConnection(key, guestCid, hostFd, State.REQUEST_PENDING);
    connection.pendingRequest = true;
    return connection;
  }

  /**
   * Creates a connection for the guest's REQUEST after the host socket connected; the RESPONSE is
   * pending.
   */
  static VsockConnection guestInitiated(
      ConnectionKey key, long guestCid, int hostFd, VsockPacketHeader request) {
    VsockConnection connection = new VsockConnection(key, guestCid, hostFd, State.ESTABLISHED);
    connection.pendingResponse = true;
    connection.updatePeerCredit(request);
    return connection;
  }

  ConnectionKey key() {
    return key;
  }

  int hostFd() {
    return hostFd;
  }

  State state() {
    return state;
  }

  /** Returns the deadline in {@link System#nanoTime} terms, or 0 when there is none. */
  long deadlineNanos() {
    return deadlineNanos;
  }

  void setDeadlineNanos(long deadlineNanos) {
    this.deadlineNanos = deadlineNanos;
  }

  /** Returns true once the REQUEST has gone to the guest. */
  boolean requestSent() {
    return !pendingRequest;
  }

  boolean hostHungUp() {
    return hostHungUp;
  }

  int registeredInterest() {
    return registeredInterest;
  }

  void setRegisteredInterest(int interest) {
    this.registeredInterest = interest;
  }

  /** Returns the bytes the device may still send to the guest. */
  long peerCredit() {
    long inFlight = Integer.toUnsignedLong(sentToGuest - peerFwdCnt);
    return Math.max(0, Integer.toUnsignedLong(peerBufAlloc) - inFlight);
  }

  /** Returns the bytes from the guest waiting for the host socket. */
  int bufferedForHost() {
    return txBuffer.size();
  }

  private void updatePeerCredit(VsockPacketHeader header) {
    peerBufAlloc = header.bufAlloc();
    peerFwdCnt = header.fwdCnt();
    if (peerCredit() > 0) {
      creditRequested = false;
    }
  }

  /**
   * Handles a packet from the guest for this connection, other than REQUEST and RST, which the
   * muxer handles.
   *
   * @param data the chain's readable buffers; the payload starts after the header
   * @throws ProtocolException when the guest breaks the connection protocol; the caller resets the
   *     connection
   * @throws SyscallException when a send to the host socket fails
   */
  void onGuestPacket(VsockPacketHeader header, ChainBuffers data)
      throws ProtocolException, SyscallException {
    updatePeerCredit(header);
    switch (header.op()) {
      case VIRTIO_VSOCK_OP_RESPONSE -> onResponse();
      case VIRTIO_VSOCK_OP_RW -> onData(header, data);
      case VIRTIO_VSOCK_OP_SHUTDOWN -> onShutdown(header.flags());
      case VIRTIO_VSOCK_OP_CREDIT_UPDATE -> {}
      case VIRTIO_VSOCK_OP_CREDIT_REQUEST -> pendingCreditUpdate = true;
      default ->
          throw new ProtocolException(
              VirtioVsockSpec.opName(header.op()) + " is not valid on an open connection");
    }
  }

  private void onResponse() throws ProtocolException, SyscallException {
    if (state != State.REQUEST_PENDING || pendingRequest) {
      throw new ProtocolException("RESPONSE without a REQUEST from the host");
    }
    state = State.ESTABLISHED;
    deadlineNanos = 0;
    // Firecracker's hybrid protocol: the host learns its port from this line.
    byte[] line =
        ("OK " + Integer.toUnsignedString(key.localPort()) + "\n")
            .getBytes(StandardCharsets.US_ASCII);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment segment = arena.allocate(line.length);
      MemorySegment.copy(MemorySegment.ofArray(line), 0, segment, 0, line.length);
      // A new socket has an empty send buffer, so the short line goes at once.
      long sent = UnixSocket.send(hostFd, segment, line.length);
      if (sent != line.length) {
        throw new ProtocolException("the host socket did not take the OK line");
      }
    }
  }

  private void onData(VsockPacketHeader header, ChainBuffers data)
      throws ProtocolException, SyscallException {
    if (state != State.ESTABLISHED || guestShutdownSend) {
      throw new ProtocolException(
          state != State.ESTABLISHED
              ? "RW before the connection is established"
              : "RW after the guest shut down its sending side");
    }
    int length = header.length();
    if (length == 0) {
      return;
    }
    List<MemorySegment> segments = data.segments(HEADER_SIZE, length);
    int index = 0;
    long sentNow = 0;
    if (txBuffer.isEmpty()) {
      for (; index < segments.size(); index++) {
        MemorySegment segment = segments.get(index);
        long sent = Math.max(0, UnixSocket.send(hostFd, segment, segment.byteSize()));
        sentNow += sent;
        if (sent < segment.byteSize()) {
          segments.set(index, segment.asSlice(sent));
          break;
        }
      }
    }
    long rest = length - sentNow;
    if (rest > txBuffer.free()) {
      throw new ProtocolException(
          String.format(
              "RW of %d bytes exceeds the credit: %d bytes already wait for the host of %d"
                  + " advertised",
              length, txBuffer.size(), BUF_ALLOC));
    }
    for (; index < segments.size(); index++) {
      txBuffer.push(segments.get(index));
    }
    receivedFromGuest += length;
    forwardedToHost += (int) sentNow;
  }

  private void onShutdown(int flags) throws SyscallException {
    guestShutdownRecv |= (flags & VIRTIO_VSOCK_SHUTDOWN_RCV) != 0;
    guestShutdownSend |= (flags & VIRTIO_VSOCK_SHUTDOWN_SEND) != 0;
    if (guestShutdownRecv && guestShutdownSend) {
      state = State.CLOSING;
    }
    shutHostWriteIfDone();
  }

  /** Half-closes the host socket once the guest sent its last byte and all of it went out. */
  private void shutHostWriteIfDone() throws SyscallException {
    if (guestShutdownSend && txBuffer.isEmpty() && !hostWriteShut && !hostHungUp) {
      hostWriteShut = true;
      try {
        UnixSocket.shutdown(hostFd, UnixSocket.SHUT_WR);
      } catch (SyscallException e) {
        // The host may have closed first; the data has gone out either way.
        if (e.errno() != dev.kiln.sys.Errno.ENOTCONN) {
          throw e;
        }
      }
    }
  }

  /**
   * Handles readiness of the host socket.
   *
   * @param events the epoll events that fired
   * @throws SyscallException when sending buffered data fails
   */
  void onHostEvent(int events) throws SyscallException {
    if ((events & (Epoll.EPOLLHUP | Epoll.EPOLLERR)) != 0) {
      // The host closed its socket: what it sent before can still be read, up to end of file.
      hostHungUp = true;
      hostReadable = true;
    }
    if ((events & Epoll.EPOLLIN) != 0) {
      hostReadable = true;
    }
    if ((events & Epoll.EPOLLOUT) != 0 && !txBuffer.isEmpty()) {
      flushToHost();
    }
  }

  /** Sends buffered guest data to the host socket; returns the bytes sent. */
  long flushToHost() throws SyscallException {
    long sent = txBuffer.flushTo(hostFd);
    forwardedToHost += (int) sent;
    shutHostWriteIfDone();
    return sent;
  }

  /** Returns true when the guest closed and every byte it sent reached the host. */
  boolean closeComplete() {
    return state == State.CLOSING && txBuffer.isEmpty();
  }

  private boolean mayReadHost() {
    return state == State.ESTABLISHED && hostReadable && !hostEof && !guestShutdownRecv;
  }

  private boolean needsCreditUpdate() {
    if (state == State.REQUEST_PENDING || forwardedToHost == lastFwdCntToGuest) {
      return false;
    }
    long guestView = BUF_ALLOC - Integer.toUnsignedLong(receivedFromGuest - lastFwdCntToGuest);
    return guestView < CREDIT_UPDATE_THRESHOLD;
  }

  /** Returns true when the connection has a packet for the guest. */
  boolean hasPacketForGuest() {
    return pendingRequest
        || pendingResponse
        || pendingShutdown
        || pendingCreditUpdate
        || needsCreditUpdate()
        || (mayReadHost() && (peerCredit() > 0 || !creditRequested));
  }

  /** Returns the epoll events the host socket should wait for now. */
  int interest() {
    int interest = 0;
    if (state == State.ESTABLISHED && !hostReadable && !hostEof && !guestShutdownRecv) {
      interest |= Epoll.EPOLLIN;
    }
    if (!txBuffer.isEmpty()) {
      interest |= Epoll.EPOLLOUT;
    }
    return interest;
  }

  /**
   * Writes the connection's next packet for the guest into a receive buffer, the payload from the
   * host socket straight into guest memory, in this order: REQUEST or RESPONSE, data, a
   * CREDIT_REQUEST when the guest has no credit, SHUTDOWN after the host's end of file, and a
   * CREDIT_UPDATE.
   *
   * @param buffer the chain's writable buffers, at least {@link VirtioVsockSpec#HEADER_SIZE} bytes
   * @return the header written, or null when there is nothing to send
   * @throws SyscallException when reading the host socket fails
   */
  VsockPacketHeader fillPacketForGuest(ChainBuffers buffer) throws SyscallException {
    VsockPacketHeader header = nextPacket(buffer);
    if (header != null) {
      buffer.write(0, header.encode());
    }
    return header;
  }

  private VsockPacketHeader nextPacket(ChainBuffers buffer) throws SyscallException {
    if (pendingRequest) {
      pendingRequest = false;
      return header(VIRTIO_VSOCK_OP_REQUEST, 0, 0);
    }
    if (pendingResponse) {
      pendingResponse = false;
      return header(VIRTIO_VSOCK_OP_RESPONSE, 0, 0);
    }
    if (mayReadHost()) {
      long room = Math.min(Math.min(buffer.length() - HEADER_SIZE, MAX_PACKET_DATA), peerCredit());
      if (room > 0) {
        long read = readHost(buffer, room);
        if (read > 0) {
          sentToGuest += (int) read;
          return header(VIRTIO_VSOCK_OP_RW, (int) read, 0);
        }
      } else if (peerCredit() == 0 && !creditRequested) {
        creditRequested = true;
        return header(VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0, 0);
      }
    }
    if (pendingShutdown) {
      pendingShutdown = false;
      return header(VIRTIO_VSOCK_OP_SHUTDOWN, 0, VIRTIO_VSOCK_SHUTDOWN_SEND);
    }
    if (pendingCreditUpdate || needsCreditUpdate()) {
      pendingCreditUpdate = false;
      return header(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 0);
    }
    return null;
  }

  /** Reads up to {@code max} bytes from the host socket into the payload area of {@code buffer}. */
  private long readHost(ChainBuffers buffer, long max) throws SyscallException {
    long total = 0;
    for (MemorySegment segment : buffer.segments(HEADER_SIZE, max)) {
      long read = Syscalls.read(hostFd, segment, segment.byteSize());
      if (read < 0) {
        hostReadable = false;
        break;
      }
      if (read == 0) {
        if (total == 0) {
          hostEof = true;
          hostReadable = false;
          pendingShutdown = true;
        }
        break;
      }
      total += read;
      if (read < segment.byteSize()) {
        break;
      }
    }
    return total;
  }

  /** Returns an RST header for this connection, for the muxer to queue when it ends it. */
  VsockPacketHeader resetHeader() {
    return header(VIRTIO_VSOCK_OP_RST, 0, 0);
  }

  private VsockPacketHeader header(int op, int length, int flags) {
    lastFwdCntToGuest = forwardedToHost;
    return new VsockPacketHeader(
        VMADDR_CID_HOST,
        guestCid,
        key.localPort(),
        key.peerPort(),
        length,
        VIRTIO_VSOCK_TYPE_STREAM,
        op,
        flags,
        BUF_ALLOC,
        forwardedToHost);
  }

  /** Closes the host socket and frees the buffer; the caller has removed it from epoll. */
  @Override
  public void close() {
    txBuffer.close();
    try {
      Syscalls.close(hostFd);
    } catch (SyscallException e) {
      // Nothing is left to do with a descriptor that fails to close.
    }
  }

  /** A guest packet that breaks the connection protocol. */
  static final class ProtocolException extends Exception {
    ProtocolException(String message) {
      super(message);
    }
  }
}
