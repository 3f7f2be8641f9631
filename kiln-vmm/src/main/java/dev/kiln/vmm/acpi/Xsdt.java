package dev.kiln.vmm.acpi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * Builds the Extended System Description Table (ACPI 6.5, 5.2.8): the header and the 64-bit
 * addresses of the other tables, the DSDT excepted, which the FADT points at.
 */
public final class Xsdt {
  /** The XSDT revision. */
  static final int REVISION = 1;

  private Xsdt() {}

  /** Returns an XSDT that lists the tables at {@code tableAddresses}, in that order. */
  public static byte[] build(List<Long> tableAddresses) {
    ByteBuffer body = ByteBuffer.allocate(8 * tableAddresses.size()).order(ByteOrder.LITTLE_ENDIAN);
    for (long address : tableAddresses) {
      body.putLong(address);
    }
    return SystemDescriptionTable.build("XSDT", REVISION, "KILNXSDT", body.array());
  }
}
