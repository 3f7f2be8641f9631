package dev.kiln.vmm.acpi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Builds the Root System Description Pointer, revision 2 (ACPI 6.5, 5.2.5.3), which points only at
 * the XSDT. The first 20 bytes carry the ACPI 1.0 checksum, all 36 the extended checksum.
 */
public final class Rsdp {
  /** Size of a revision 2 RSDP. */
  public static final int SIZE = 36;

  /** Size of the ACPI 1.0 part that the first checksum covers. */
  static final int V1_SIZE = 20;

  /** The revision for ACPI 2.0 and later. */
  static final int REVISION = 2;

  static final int CHECKSUM_OFFSET = 8;
  static final int EXTENDED_CHECKSUM_OFFSET = 32;

  private Rsdp() {}

  /** Returns an RSDP that points at the XSDT at {@code xsdtAddress}, with no RSDT. */
  public static byte[] build(long xsdtAddress) {
    ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.put("RSD PTR ".getBytes(StandardCharsets.US_ASCII));
    b.put((byte) 0); // checksum, filled below
    b.put(SystemDescriptionTable.padded(SystemDescriptionTable.OEM_ID, 6));
    b.put((byte) REVISION);
    b.putInt(0); // RsdtAddress: Kiln writes no RSDT
    b.putInt(SIZE);
    b.putLong(xsdtAddress);
    b.put((byte) 0); // extended checksum, filled below
    b.put(new byte[3]);
    byte[] bytes = b.array();
    bytes[CHECKSUM_OFFSET] = SystemDescriptionTable.checksum(bytes, 0, V1_SIZE);
    bytes[EXTENDED_CHECKSUM_OFFSET] = SystemDescriptionTable.checksum(bytes, 0, SIZE);
    return bytes;
  }
}
