package dev.kiln.vmm.devices.virtio.vsock;

import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_CREDIT_REQUEST;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_CREDIT_UPDATE;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_REQUEST;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_RESPONSE;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_RST;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_RW;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_SHUTDOWN;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_SHUTDOWN_RCV;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_SHUTDOWN_SEND;
import static dev.kiln.vmm.devices.virtio.vsock.VsockHarness.GUEST_CID;
import static dev.kiln.vmm.devices.virtio.vsock.VsockHarness.await;
import static dev.kiln.vmm.devices.virtio.vsock.VsockHarness.awaitEof;
import static dev.kiln.vmm.devices.virtio.vsock.VsockHarness.fromGuest;
import static dev.kiln.vmm.devices.virtio.vsock.VsockHarness.read;
import static dev.kiln.vmm.devices.virtio.vsock.VsockHarness.write;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.vmm.devices.virtio.VirtioSpec;
import dev.kiln.vmm.devices.virtio.vsock.VsockHarness.Packet;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The vsock device and its muxer against a fake guest driver and real Unix sockets. */
class VsockDeviceTest {
  private static final int GUEST_PORT = 1234;
  private static final byte[] NONE = new byte[0];

  @TempDir Path directory;
  private VsockHarness vsock;

  @BeforeEach
  void start() throws Exception {
    vsock = new VsockHarness(directory);
  }

  @AfterEach
  void stop() throws Exception {
    vsock.close();
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private ServerSocketChannel hostListener(int port) throws Exception {
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(Path.of(vsock.udsPath + "_" + port)));
    return server;
  }

  /** Connects from the host with CONNECT and answers the REQUEST; returns the guest-side view. */
  private record HostConnection(SocketChannel channel, int hostPort) {}

  private HostConnection connectFromHost(int guestPort, int guestBufAlloc) throws Exception {
    SocketChannel channel = vsock.connectHost();
    write(channel, bytes("CONNECT " + guestPort + "\n"));
    Packet request = vsock.awaitPacket();
    assertThat(request.header().op()).isEqualTo(VIRTIO_VSOCK_OP_REQUEST);
    int hostPort = request.header().srcPort();
    VsockPacketHeader response =
        new VsockPacketHeader(
            GUEST_CID, 2, guestPort, hostPort, 0, 1, VIRTIO_VSOCK_OP_RESPONSE, 0, guestBufAlloc, 0);
    vsock.send(response, NONE);
    String ok =
        new String(read(channel, ("OK " + Integer.toUnsignedString(hostPort) + "\n").length()));
    assertThat(ok).isEqualTo("OK " + Integer.toUnsignedString(hostPort) + "\n");
    return new HostConnection(channel, hostPort);
  }

  @Test
  void configSpaceHoldsGuestCid() {
    assertThat(vsock.device.readConfig(0, 8)).isEqualTo(GUEST_CID);
    assertThat(vsock.device.readConfig(0, 4)).isEqualTo(GUEST_CID);
    assertThat(vsock.device.readConfig(4, 4)).isZero();
    assertThat(vsock.metrics.cfgFails.get()).isZero();

    assertThat(vsock.device.readConfig(8, 4)).isZero();
    vsock.device.writeConfig(0, 8, 99);
    assertThat(vsock.metrics.cfgFails.get()).isEqualTo(2);
    assertThat(vsock.device.readConfig(0, 8)).isEqualTo(GUEST_CID);
  }

  @Test
  void deviceOffersThreeQueuesAndItsFeatures() {
    assertThat(vsock.device.deviceType()).isEqualTo(19);
    assertThat(vsock.device.queues()).hasSize(3);
    assertThat(vsock.device.availableFeatures())
        .isEqualTo(
            VirtioSpec.feature(VirtioSpec.VIRTIO_F_VERSION_1)
                | VirtioSpec.feature(VirtioSpec.VIRTIO_RING_F_EVENT_IDX));
  }

  @Test
  void guestConnectWithoutHostListenerGetsRst() throws Exception {
    vsock.addRxBuffers(4);
    vsock.send(fromGuest(GUEST_PORT, 7777, VIRTIO_VSOCK_OP_REQUEST, 0), NONE);

    VsockPacketHeader rst = vsock.awaitPacket().header();
    assertThat(rst.op()).isEqualTo(VIRTIO_VSOCK_OP_RST);
    assertThat(rst.srcPort()).isEqualTo(7777);
    assertThat(rst.dstPort()).isEqualTo(GUEST_PORT);
    assertThat(rst.dstCid()).isEqualTo(GUEST_CID);
    assertThat(vsock.locked(vsock.muxer::connectionCount)).isZero();
  }

  @Test
  void guestConnectCarriesDataBothWaysAndCloses() throws Exception {
    try (ServerSocketChannel server = hostListener(5000)) {
      vsock.addRxBuffers(8);
      vsock.send(fromGuest(GUEST_PORT, 5000, VIRTIO_VSOCK_OP_REQUEST, 0), NONE);
      assertThat(vsock.awaitPacket().header().op()).isEqualTo(VIRTIO_VSOCK_OP_RESPONSE);
      SocketChannel host = server.accept();
      host.configureBlocking(false);

      vsock.send(fromGuest(GUEST_PORT, 5000, VIRTIO_VSOCK_OP_RW, 5), bytes("hello"));
      assertThat(new String(read(host, 5))).isEqualTo("hello");

      write(host, bytes("world"));
      Packet data = vsock.awaitPacket();
      assertThat(data.header().op()).isEqualTo(VIRTIO_VSOCK_OP_RW);
      assertThat(data.text()).isEqualTo("world");
      assertThat(data.header().srcPort()).isEqualTo(5000);

      VsockPacketHeader shutdown =
          new VsockPacketHeader(
              GUEST_CID,
              2,
              GUEST_PORT,
              5000,
              0,
              1,
              VIRTIO_VSOCK_OP_SHUTDOWN,
              VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND,
              256 * 1024,
              0);
      vsock.send(shutdown, NONE);
      awaitEof(host);
      assertThat(vsock.awaitPacket().header().op()).isEqualTo(VIRTIO_VSOCK_OP_RST);
      assertThat(vsock.locked(vsock.muxer::connectionCount)).isZero();
      assertThat(vsock.metrics.connsAdded.get()).isEqualTo(1);
      assertThat(vsock.metrics.connsRemoved.get()).isEqualTo(1);
      assertThat(vsock.metrics.connsKilled.get()).isZero();
      assertThat(vsock.metrics.txBytesCount.get()).isEqualTo(5);
      assertThat(vsock.metrics.rxBytesCount.get()).isEqualTo(5);
      host.close();
    }
  }

  @Test
  void guestHalfCloseShutsHostWriteSide() throws Exception {
    try (ServerSocketChannel server = hostListener(5001)) {
      vsock.addRxBuffers(8);
      vsock.send(fromGuest(GUEST_PORT, 5001, VIRTIO_VSOCK_OP_REQUEST, 0), NONE);
      vsock.awaitPacket();
      SocketChannel host = server.accept();
      host.configureBlocking(false);
      VsockPacketHeader sendDone =
          new VsockPacketHeader(
              GUEST_CID,
              2,
              GUEST_PORT,
              5001,
              0,
              1,
              VIRTIO_VSOCK_OP_SHUTDOWN,
              VIRTIO_VSOCK_SHUTDOWN_SEND,
              256 * 1024,
              0);
      vsock.send(sendDone, NONE);
      awaitEof(host);

      // The other direction still works, and the host's end of file becomes a SHUTDOWN.
      write(host, bytes("late"));
      Packet late = vsock.awaitPacket();
      assertThat(late.header().op()).isEqualTo(VIRTIO_VSOCK_OP_RW);
      assertThat(late.text()).isEqualTo("late");
      host.close();
      Packet shutdown = vsock.awaitPacket();
      assertThat(shutdown.header().op()).isEqualTo(VIRTIO_VSOCK_OP_SHUTDOWN);
      assertThat(shutdown.header().flags()).isEqualTo(VIRTIO_VSOCK_SHUTDOWN_SEND);
    }
  }

  @Test
  void hostConnectGetsOkWithAssignedPort() throws Exception {
    vsock.addRxBuffers(8);
    HostConnection connection = connectFromHost(52, 256 * 1024);

    assertThat(Integer.toUnsignedLong(connection.hostPort())).isGreaterThanOrEqualTo(1L << 30);
    vsock.send(fromGuest(52, connection.hostPort(), VIRTIO_VSOCK_OP_RW, 3), bytes("abc"));
    assertThat(new String(read(connection.channel(), 3))).isEqualTo("abc");
    write(connection.channel(), bytes("xyz"));
    assertThat(vsock.awaitPacket().text()).isEqualTo("xyz");
    connection.channel().close();
  }

  @Test
  void guestRstClosesHostConnection() throws Exception {
    vsock.addRxBuffers(8);
    SocketChannel channel = vsock.connectHost();
    write(channel, bytes("CONNECT 52\n"));
    VsockPacketHeader request = vsock.awaitPacket().header();
    vsock.send(fromGuest(52, request.srcPort(), VIRTIO_VSOCK_OP_RST, 0), NONE);

    awaitEof(channel);
    await(() -> vsock.locked(vsock.muxer::connectionCount) == 0, "the connection to go");
    channel.close();
  }

  @Test
  void malformedConnectLineClosesHostConnection() throws Exception {
    SocketChannel channel = vsock.connectHost();
    write(channel, bytes("HELLO 52\n"));

    awaitEof(channel);
    assertThat(vsock.metrics.muxerEventFails.get()).isEqualTo(1);
    assertThat(vsock.locked(vsock.muxer::pendingStreamCount)).isZero();
    channel.close();
  }

  @Test
  void connectLineTimeoutClosesHostConnection() throws Exception {
    SocketChannel channel = vsock.connectHost();
    write(channel, bytes("CONN"));
    await(() -> vsock.locked(vsock.muxer::pendingStreamCount) == 1, "the host connection");

    vsock.clock.addAndGet(VsockMuxer.CONNECT_LINE_TIMEOUT_NANOS);
    awaitEof(channel);
    assertThat(vsock.metrics.muxerEventFails.get()).isEqualTo(1);
    channel.close();
  }

  @Test
  void unansweredRequestTimesOut() throws Exception {
    vsock.addRxBuffers(8);
    SocketChannel channel = vsock.connectHost();
    write(channel, bytes("CONNECT 52\n"));
    VsockPacketHeader request = vsock.awaitPacket().header();

    vsock.clock.addAndGet(VsockMuxer.REQUEST_TIMEOUT_NANOS);
    awaitEof(channel);
    VsockPacketHeader rst = vsock.awaitPacket().header();
    assertThat(rst.op()).isEqualTo(VIRTIO_VSOCK_OP_RST);
    assertThat(rst.srcPort()).isEqualTo(request.srcPort());
    assertThat(vsock.metrics.connsKilled.get()).isEqualTo(1);
    channel.close();
  }

  @Test
  void hostDataStopsAtGuestCreditAndResumesOnUpdate() throws Exception {
    vsock.addRxBuffers(16);
    HostConnection connection = connectFromHost(52, 100);
    byte[] data = new byte[300];
    new Random(1).nextBytes(data);
    write(connection.channel(), data);

    List<Packet> packets = vsock.awaitPackets(2);
    assertThat(packets.get(0).header().op()).isEqualTo(VIRTIO_VSOCK_OP_RW);
    assertThat(packets.get(0).data()).isEqualTo(Arrays.copyOfRange(data, 0, 100));
    assertThat(packets.get(1).header().op()).isEqualTo(VIRTIO_VSOCK_OP_CREDIT_REQUEST);
    Thread.sleep(100);
    assertThat(vsock.takePackets()).as("nothing beyond the credit").isEmpty();

    VsockPacketHeader update =
        new VsockPacketHeader(
            GUEST_CID,
            2,
            52,
            connection.hostPort(),
            0,
            1,
            VIRTIO_VSOCK_OP_CREDIT_UPDATE,
            0,
            100,
            100);
    vsock.send(update, NONE);
    List<Packet> second = vsock.awaitPackets(2);
    assertThat(second.get(0).data()).isEqualTo(Arrays.copyOfRange(data, 100, 200));
    assertThat(second.get(1).header().op()).isEqualTo(VIRTIO_VSOCK_OP_CREDIT_REQUEST);
    connection.channel().close();
  }

  @Test
  void deviceSendsCreditUpdateAsGuestDataDrains() throws Exception {
    vsock.addRxBuffers(8);
    HostConnection connection = connectFromHost(52, 256 * 1024);
    byte[] chunk = new byte[8192];
    int total = 0;
    while (total <= VsockConnection.BUF_ALLOC - VsockConnection.CREDIT_UPDATE_THRESHOLD) {
      vsock.send(fromGuest(52, connection.hostPort(), VIRTIO_VSOCK_OP_RW, chunk.length), chunk);
      read(connection.channel(), chunk.length);
      total += chunk.length;
    }

    Packet update = vsock.awaitPacket();
    assertThat(update.header().op()).isEqualTo(VIRTIO_VSOCK_OP_CREDIT_UPDATE);
    assertThat(update.header().fwdCnt()).isEqualTo(total);
    assertThat(update.header().bufAlloc()).isEqualTo(VsockConnection.BUF_ALLOC);
    connection.channel().close();
  }

  @Test
  void creditRequestGetsCreditUpdate() throws Exception {
    vsock.addRxBuffers(8);
    HostConnection connection = connectFromHost(52, 256 * 1024);
    vsock.send(fromGuest(52, connection.hostPort(), VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0), NONE);

    Packet update = vsock.awaitPacket();
    assertThat(update.header().op()).isEqualTo(VIRTIO_VSOCK_OP_CREDIT_UPDATE);
    assertThat(update.header().fwdCnt()).isZero();
    connection.channel().close();
  }

  @Test
  void guestOverrunningCreditIsReset() throws Exception {
    vsock.addRxBuffers(8);
    HostConnection connection = connectFromHost(52, 256 * 1024);
    byte[] chunk = new byte[VirtioVsockSpec.MAX_PACKET_DATA];
    // The host never reads: its socket buffer fills, then the device's buffer, then the guest
    // has sent more than the credit it was given.
    for (int i = 0; i < 64 && vsock.metrics.connsKilled.get() == 0; i++) {
      vsock.send(fromGuest(52, connection.hostPort(), VIRTIO_VSOCK_OP_RW, chunk.length), chunk);
    }

    assertThat(vsock.metrics.connsKilled.get()).isEqualTo(1);
    assertThat(vsock.metrics.invalidPktsCount.get()).isEqualTo(1);
    List<Packet> packets = new ArrayList<>();
    await(
        () ->
            packets.addAll(vsock.takePackets())
                && packets.getLast().header().op() == VIRTIO_VSOCK_OP_RST,
        "the RST");
    // Before it, CREDIT_UPDATEs the guest ignored.
    assertThat(packets.subList(0, packets.size() - 1))
        .extracting(packet -> packet.header().op())
        .containsOnly(VIRTIO_VSOCK_OP_CREDIT_UPDATE);
    connection.channel().close();
  }

  @Test
  void pendingHostConnectionsAreLimited() throws Exception {
    SocketChannel[] channels = new SocketChannel[VsockMuxer.MAX_PENDING_HOST_STREAMS + 1];
    for (int i = 0; i < channels.length; i++) {
      channels[i] = vsock.connectHost();
    }
    await(() -> vsock.metrics.muxerEventFails.get() == 1, "the refusal");
    assertThat(vsock.locked(vsock.muxer::pendingStreamCount))
        .isEqualTo(VsockMuxer.MAX_PENDING_HOST_STREAMS);
    for (SocketChannel channel : channels) {
      channel.close();
    }
  }

  @Test
  void deviceResetClosesHostConnections() throws Exception {
    vsock.addRxBuffers(8);
    HostConnection connection = connectFromHost(52, 256 * 1024);

    vsock.device.reset();
    awaitEof(connection.channel());
    assertThat(vsock.locked(vsock.muxer::connectionCount)).isZero();
    connection.channel().close();
  }

  @Test
  void closeRemovesSocketFile() {
    assertThat(vsock.udsPath).exists();
    vsock.muxer.close();
    assertThat(vsock.udsPath).doesNotExist();
  }
}
