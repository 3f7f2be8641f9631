package dev.kiln.vmm.devices.virtio.vsock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.vmm.devices.virtio.vsock.GuestPacketCheck.Action;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The 44-byte packet header of virtio 1.2, 5.10.6 and the checks on headers from the guest. */
class VsockPacketHeaderTest {
  @Test
  void decodeReadsSpecOffsets() {
    ByteBuffer b = ByteBuffer.allocate(44).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(3).putLong(2).putInt(0xfffffffe).putInt(5000).putInt(7);
    b.putShort((short) 1).putShort((short) 5).putInt(2).putInt(65536).putInt(0x80000000);

    VsockPacketHeader header = VsockPacketHeader.decode(b.array());

    assertThat(header.srcCid()).isEqualTo(3);
    assertThat(header.dstCid()).isEqualTo(2);
    assertThat(Integer.toUnsignedLong(header.srcPort())).isEqualTo(0xfffffffeL);
    assertThat(header.dstPort()).isEqualTo(5000);
    assertThat(header.length()).isEqualTo(7);
    assertThat(header.type()).isEqualTo(1);
    assertThat(header.op()).isEqualTo(5);
    assertThat(header.flags()).isEqualTo(2);
    assertThat(header.bufAlloc()).isEqualTo(65536);
    assertThat(Integer.toUnsignedLong(header.fwdCnt())).isEqualTo(0x80000000L);
  }

  @Test
  void encodeRoundTrips() {
    VsockPacketHeader header = new VsockPacketHeader(2, 3, 1 << 30, 52, 100, 1, 6, 0, 4096, -5);

    assertThat(header.encode()).hasSize(44);
    assertThat(VsockPacketHeader.decode(header.encode())).isEqualTo(header);
  }

  @Test
  void shortInputRejected() {
    assertThatThrownBy(() -> VsockPacketHeader.decode(new byte[43]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("43");
  }

  @ParameterizedTest
  @CsvSource({
    // srcCid, dstCid, length, type, op, flags, dataBytes, action
    "3, 2, 0, 1, 1, 0, 0, ACCEPT",
    "3, 2, 10, 1, 5, 0, 10, ACCEPT",
    "3, 2, 65536, 1, 5, 0, 65536, ACCEPT",
    "3, 2, 0, 1, 4, 3, 0, ACCEPT",
    "4, 2, 0, 1, 1, 0, 0, DROP",
    "3, 1, 0, 1, 1, 0, 0, DROP",
    "3, 2, 11, 1, 5, 0, 10, DROP",
    "3, 2, 65537, 1, 5, 0, 70000, DROP",
    "3, 2, 4, 1, 1, 0, 4, DROP",
    "3, 2, 0, 1, 4, 4, 0, DROP",
    "3, 2, 0, 2, 1, 0, 0, RESET",
    "3, 2, 0, 1, 0, 0, 0, RESET",
    "3, 2, 0, 1, 8, 0, 0, RESET",
  })
  void guestHeaderChecked(
      long srcCid, long dstCid, int length, int type, int op, int flags, long data, Action action) {
    VsockPacketHeader header =
        new VsockPacketHeader(srcCid, dstCid, 1, 2, length, type, op, flags, 0, 0);

    GuestPacketCheck check = GuestPacketCheck.of(header, 3, data);

    assertThat(check.action()).as(check.reason()).isEqualTo(action);
    assertThat(check.reason().isEmpty()).isEqualTo(action == Action.ACCEPT);
  }
}
