package dev.kiln.vmm.devices.virtio.vsock;

import static dev.kiln.vmm.devices.virtio.vsock.VirtioVsockSpec.HEADER_SIZE;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The header of every vsock packet, {@code struct virtio_vsock_hdr} (virtio 1.2, 5.10.6): 44
 * little-endian bytes. Ports, the length, the flags and both credit counters are unsigned 32-bit
 * values kept in ints.
 *
 * @param srcCid the sender's context id
 * @param dstCid the receiver's context id
 * @param srcPort the sender's port
 * @param dstPort the receiver's port
 * @param length the payload bytes that follow the header
 * @param type the socket type, {@link VirtioVsockSpec#VIRTIO_VSOCK_TYPE_STREAM}
 * @param op the operation, such as {@link VirtioVsockSpec#VIRTIO_VSOCK_OP_RW}
 * @param flags the SHUTDOWN flags; 0 for the other operations
 * @param bufAlloc the sender's receive buffer size in bytes
 * @param fwdCnt the bytes the sender has consumed from its receive buffer, modulo 2^32
 */
public record VsockPacketHeader(
    long srcCid,
    long dstCid,
    int srcPort,
    int dstPort,
    int length,
    int type,
    int op,
    int flags,
    int bufAlloc,
    int fwdCnt) {

  /** Decodes the first {@link VirtioVsockSpec#HEADER_SIZE} bytes of {@code bytes}. */
  public static VsockPacketHeader decode(byte[] bytes) {
    if (bytes.length < HEADER_SIZE) {
      throw new IllegalArgumentException(
          "a vsock header is " + HEADER_SIZE + " bytes, got " + bytes.length);
    }
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    return new VsockPacketHeader(
        b.getLong(0),
        b.getLong(8),
        b.getInt(16),
        b.getInt(20),
        b.getInt(24),
        Short.toUnsignedInt(b.getShort(28)),
        Short.toUnsignedInt(b.getShort(30)),
        b.getInt(32),
        b.getInt(36),
        b.getInt(40));
  }

  /** Encodes the header into {@link VirtioVsockSpec#HEADER_SIZE} bytes. */
  public byte[] encode() {
    ByteBuffer b = ByteBuffer.allocate(HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(srcCid)
        .putLong(dstCid)
        .putInt(srcPort)
        .putInt(dstPort)
        .putInt(length)
        .putShort((short) type)
        .putShort((short) op)
        .putInt(flags)
        .putInt(bufAlloc)
        .putInt(fwdCnt);
    return b.array();
  }

  /** Returns the payload length as an unsigned value. */
  public long unsignedLength() {
    return Integer.toUnsignedLong(length);
  }

  /** Returns a header with the given length and the same other fields. */
  public VsockPacketHeader withLength(int newLength) {
    return new VsockPacketHeader(
        srcCid, dstCid, srcPort, dstPort, newLength, type, op, flags, bufAlloc, fwdCnt);
  }

  @Override
  public String toString() {
    return String.format(
        "%s %d:%s -> %d:%s len=%s type=%d flags=%d buf_alloc=%s fwd_cnt=%s",
        VirtioVsockSpec.opName(op),
        srcCid,
        Integer.toUnsignedString(srcPort),
        dstCid,
        Integer.toUnsignedString(dstPort),
        Integer.toUnsignedString(length),
        type,
        flags,
        Integer.toUnsignedString(bufAlloc),
        Integer.toUnsignedString(fwdCnt));
  }
}
