package dev.kiln.vmm.devices.virtio.vsock;

import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_REQUEST;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_RST;
import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.VIRTIO_VSOCK_OP_RW;
import static dev.kiln.vmm.devices.virtio.vsock.VsockHarness.GUEST_CID;
import static dev.kiln.vmm.devices.virtio.vsock.VsockHarness.await;
import static dev.kiln.vmm.devices.virtio.vsock.VsockHarness.fromGuest;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.vmm.devices.virtio.VirtioSpec;
import dev.kiln.vmm.devices.virtio.block.TestDriver.Buffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Packets and queues a hostile guest could make: dropped or reset, counted, never a crash. */
class VsockHostileGuestTest {
  private static final byte[] NONE = new byte[0];

  @TempDir Path directory;
  private VsockHarness vsock;

  @BeforeEach
  void start() throws Exception {
    vsock = new VsockHarness(directory);
    vsock.addRxBuffers(16);
  }

  @AfterEach
  void stop() throws Exception {
    vsock.close();
  }

  private void restartWithoutRxBuffers(String name) throws Exception {
    vsock.close();
    vsock = new VsockHarness(Files.createDirectories(directory.resolve(name)));
  }

  private void assertDroppedSilently() throws InterruptedException {
    Thread.sleep(50);
    assertThat(vsock.takePackets()).isEmpty();
    assertThat(vsock.metrics.invalidPktsCount.get()).isEqualTo(1);
    assertThat(vsock.resetRequests.get()).isZero();
  }

  @Test
  void shortHeaderDropped() throws Exception {
    vsock.submitTx(vsock.driver.readable(new byte[20]));
    vsock.notifyTx();

    assertDroppedSilently();
    assertThat(vsock.txUsed()).isEqualTo(1);
  }

  @Test
  void headerSplitOverDescriptorsAccepted() throws Exception {
    byte[] header = fromGuest(1, 7777, VIRTIO_VSOCK_OP_REQUEST, 0).encode();
    vsock.submitTx(
        vsock.driver.readable(Arrays.copyOfRange(header, 0, 10)),
        vsock.driver.readable(Arrays.copyOfRange(header, 10, header.length)));
    vsock.notifyTx();

    assertThat(vsock.awaitPacket().header().op()).isEqualTo(VIRTIO_VSOCK_OP_RST);
    assertThat(vsock.metrics.invalidPktsCount.get()).isZero();
  }

  @Test
  void lengthBeyondChainDropped() throws Exception {
    vsock.send(fromGuest(1, 7777, VIRTIO_VSOCK_OP_RW, 100), new byte[10]);

    assertDroppedSilently();
  }

  @Test
  void lengthBeyondMaximumDropped() throws Exception {
    vsock.send(fromGuest(1, 7777, VIRTIO_VSOCK_OP_RW, -1), new byte[10]);

    assertDroppedSilently();
  }

  @Test
  void wrongSourceCidDropped() throws Exception {
    VsockPacketHeader spoofed =
        new VsockPacketHeader(99, 2, 1, 7777, 0, 1, VIRTIO_VSOCK_OP_REQUEST, 0, 0, 0);
    vsock.send(spoofed, NONE);

    assertDroppedSilently();
  }

  @Test
  void wrongDestinationCidDropped() throws Exception {
    VsockPacketHeader elsewhere =
        new VsockPacketHeader(GUEST_CID, 4, 1, 7777, 0, 1, VIRTIO_VSOCK_OP_REQUEST, 0, 0, 0);
    vsock.send(elsewhere, NONE);

    assertDroppedSilently();
  }

  @Test
  void unknownTypeAndOperationGetRst() throws Exception {
    vsock.send(new VsockPacketHeader(GUEST_CID, 2, 1, 7777, 0, 2, 1, 0, 0, 0), NONE);
    vsock.send(new VsockPacketHeader(GUEST_CID, 2, 1, 7777, 0, 1, 99, 0, 0, 0), NONE);

    await(() -> vsock.metrics.rxPacketsCount.get() == 2, "two answers");
    assertThat(vsock.takePackets())
        .extracting(packet -> packet.header().op())
        .containsExactly(VIRTIO_VSOCK_OP_RST, VIRTIO_VSOCK_OP_RST);
    assertThat(vsock.metrics.invalidPktsCount.get()).isEqualTo(2);
  }

  @Test
  void dataForUnknownConnectionGetsRst() throws Exception {
    vsock.send(fromGuest(1, 7777, VIRTIO_VSOCK_OP_RW, 4), new byte[4]);

    VsockPacketHeader rst = vsock.awaitPacket().header();
    assertThat(rst.op()).isEqualTo(VIRTIO_VSOCK_OP_RST);
    assertThat(rst.dstPort()).isEqualTo(1);
  }

  @Test
  void rstForUnknownConnectionIgnored() throws Exception {
    vsock.send(fromGuest(1, 7777, VIRTIO_VSOCK_OP_RST, 0), NONE);

    Thread.sleep(50);
    assertThat(vsock.takePackets()).isEmpty();
    assertThat(vsock.metrics.invalidPktsCount.get()).isZero();
  }

  @Test
  void bufferOutsideGuestRamRequestsReset() throws Exception {
    vsock.submitTx(new Buffer(vsock.memory.end() - 8, 64, false));
    vsock.notifyTx();

    assertThat(vsock.resetRequests.get()).isEqualTo(1);
    assertThat(vsock.metrics.txQueueEventFails.get()).isEqualTo(1);
    assertThat(vsock.driver.deviceStatus() & VirtioSpec.STATUS_DEVICE_NEEDS_RESET).isNotZero();
  }

  @Test
  void tooSmallRxBufferReturnedEmpty() throws Exception {
    restartWithoutRxBuffers("small");
    synchronized (vsock) {
      vsock.driver.selectQueue(VirtioVsockSpec.RX_QUEUE);
      vsock.driver.submit(vsock.driver.writable(10));
    }
    vsock.send(fromGuest(1, 7777, VIRTIO_VSOCK_OP_RW, 4), new byte[4]);

    await(() -> vsock.metrics.invalidPktsCount.get() == 1, "the small buffer to count");
    assertThat(vsock.resetRequests.get()).isZero();
  }

  @Test
  void floodOfResetsPausesTxUntilGuestReceives() throws Exception {
    restartWithoutRxBuffers("flood");
    // No receive buffers: every RST waits in the control queue.
    for (int i = 0; i < 200; i++) {
      vsock.submitTx(vsock.driver.readable(fromGuest(i, 7777, VIRTIO_VSOCK_OP_RW, 0).encode()));
    }
    vsock.notifyTx();
    assertThat(vsock.txUsed()).isEqualTo(200);
    for (int i = 200; i < 400; i++) {
      vsock.submitTx(vsock.driver.readable(fromGuest(i, 7777, VIRTIO_VSOCK_OP_RW, 0).encode()));
    }
    vsock.notifyTx();
    assertThat(vsock.txUsed()).as("tx stops at the control queue limit").isEqualTo(256);

    vsock.addRxBuffers(100);
    await(() -> vsock.txUsed() == 356, "tx to resume after rx drained");
    assertThat(vsock.takePackets()).hasSize(100);
    assertThat(vsock.resetRequests.get()).isZero();
  }
}
