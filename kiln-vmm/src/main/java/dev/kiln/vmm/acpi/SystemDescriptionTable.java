package dev.kiln.vmm.acpi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Frames an ACPI system description table: the 36-byte header (ACPI 6.5, 5.2.6) in front of the
 * table's body, with the length and the checksum filled in.
 */
public final class SystemDescriptionTable {
  /** Size of the header every system description table starts with. */
  public static final int HEADER_SIZE = 36;

  /** OEMID in every Kiln table and in the RSDP. */
  public static final String OEM_ID = "KILN";

  /** Creator ID: the vendor of the tool that made the table. */
  public static final String CREATOR_ID = "KILN";

  /** Creator revision. */
  public static final int CREATOR_REVISION = 1;

  /** OEM revision of every Kiln table. */
  public static final int OEM_REVISION = 1;

  static final int LENGTH_OFFSET = 4;
  static final int CHECKSUM_OFFSET = 9;

  private SystemDescriptionTable() {}

  /**
   * Returns the header and {@code body} as one table, whose bytes sum to zero.
   *
   * @param signature the four-character table signature, such as {@code APIC}
   * @param revision the table revision its specification section gives
   * @param oemTableId the OEM table ID, at most 8 characters; padded with spaces
   */
  public static byte[] build(String signature, int revision, String oemTableId, byte[] body) {
    if (signature.length() != 4) {
      throw new IllegalArgumentException(
          "invalid ACPI table signature '" + signature + "': use 4 characters");
    }
    ByteBuffer b = ByteBuffer.allocate(HEADER_SIZE + body.length).order(ByteOrder.LITTLE_ENDIAN);
    b.put(signature.getBytes(StandardCharsets.US_ASCII));
    b.putInt(HEADER_SIZE + body.length);
    b.put((byte) revision);
    b.put((byte) 0); // checksum, filled below
    b.put(padded(OEM_ID, 6));
    b.put(padded(oemTableId, 8));
    b.putInt(OEM_REVISION);
    b.put(padded(CREATOR_ID, 4));
    b.putInt(CREATOR_REVISION);
    b.put(body);
    byte[] table = b.array();
    table[CHECKSUM_OFFSET] = checksum(table, 0, table.length);
    return table;
  }

  /** Returns the byte that makes the bytes of the range, that byte included, sum to zero. */
  static byte checksum(byte[] bytes, int from, int length) {
    int sum = 0;
    for (int i = from; i < from + length; i++) {
      sum += bytes[i];
    }
    return (byte) -sum;
  }

  /** Returns {@code text} in ASCII, padded with spaces or cut to {@code length} bytes. */
  static byte[] padded(String text, int length) {
    if (text.length() > length) {
      throw new IllegalArgumentException(
          "'" + text + "' is longer than the " + length + " bytes of its ACPI field");
    }
    byte[] out = new byte[length];
    java.util.Arrays.fill(out, (byte) ' ');
    byte[] ascii = text.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(ascii, 0, out, 0, ascii.length);
    return out;
  }
}
