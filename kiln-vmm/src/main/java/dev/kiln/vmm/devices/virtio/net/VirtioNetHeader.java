package dev.kiln.vmm.devices.virtio.net;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * {@code struct virtio_net_hdr_v1} (virtio 1.2, 5.1.6), little-endian. The device passes the header
 * between the guest and the TAP as it is, except {@code num_buffers}, which it sets on receive;
 * this record reads and writes it for that and for tests.
 *
 * @param flags {@code VIRTIO_NET_HDR_F_NEEDS_CSUM} (1), {@code VIRTIO_NET_HDR_F_DATA_VALID} (2)
 * @param gsoType {@code VIRTIO_NET_HDR_GSO_NONE} (0), {@code TCPV4} (1), {@code UDP} (3), {@code
 *     TCPV6} (4), with {@code ECN} (0x80)
 * @param hdrLen the length of the headers to copy into each segment
 * @param gsoSize the segment size
 * @param csumStart where checksumming starts
 * @param csumOffset where the checksum goes, from {@code csumStart}
 * @param numBuffers the number of receive chains a frame fills
 */
public record VirtioNetHeader(
    int flags,
    int gsoType,
    int hdrLen,
    int gsoSize,
    int csumStart,
    int csumOffset,
    int numBuffers) {
  public static final int F_NEEDS_CSUM = 1;
  public static final int F_DATA_VALID = 2;
  public static final int GSO_NONE = 0;
  public static final int GSO_TCPV4 = 1;
  public static final int GSO_UDP = 3;
  public static final int GSO_TCPV6 = 4;

  private static final ValueLayout.OfShort LE_U16 =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  /** Reads the header at the start of {@code frame}, which holds at least 12 bytes. */
  public static VirtioNetHeader read(MemorySegment frame) {
    return new VirtioNetHeader(
        Byte.toUnsignedInt(frame.get(ValueLayout.JAVA_BYTE, 0)),
        Byte.toUnsignedInt(frame.get(ValueLayout.JAVA_BYTE, 1)),
        u16(frame, 2),
        u16(frame, 4),
        u16(frame, 6),
        u16(frame, 8),
        u16(frame, VirtioNetSpec.HEADER_NUM_BUFFERS));
  }

  /** Writes the header at the start of {@code frame}. */
  public void write(MemorySegment frame) {
    frame.set(ValueLayout.JAVA_BYTE, 0, (byte) flags);
    frame.set(ValueLayout.JAVA_BYTE, 1, (byte) gsoType);
    frame.set(LE_U16, 2, (short) hdrLen);
    frame.set(LE_U16, 4, (short) gsoSize);
    frame.set(LE_U16, 6, (short) csumStart);
    frame.set(LE_U16, 8, (short) csumOffset);
    setNumBuffers(frame, numBuffers);
  }

  /** Sets only {@code num_buffers} in the header at the start of {@code frame}. */
  public static void setNumBuffers(MemorySegment frame, int count) {
    frame.set(LE_U16, VirtioNetSpec.HEADER_NUM_BUFFERS, (short) count);
  }

  private static int u16(MemorySegment frame, long offset) {
    return Short.toUnsignedInt(frame.get(LE_U16, offset));
  }
}
