package dev.kiln.vmm.loader;

import java.math.BigInteger;

/**
 * Formatting of the unsigned 64-bit values that ELF and the boot protocol store, for error
 * messages. A sum is computed without wrapping, so a hostile offset plus length prints as the huge
 * number it is.
 */
final class Unsigned {
  private Unsigned() {}

  /** Returns {@code value} as unsigned hexadecimal with a {@code 0x} prefix. */
  static String hex(long value) {
    return "0x" + Long.toHexString(value);
  }

  /** Returns {@code start + length} as an unsigned decimal number. */
  static String sum(long start, long length) {
    return bigSum(start, length).toString();
  }

  /** Returns the range {@code [start, start + length)} as {@code 0xSTART-0xEND}, end exclusive. */
  static String hexRange(long start, long length) {
    return hex(start) + "-0x" + bigSum(start, length).toString(16);
  }

  private static BigInteger bigSum(long a, long b) {
    return new BigInteger(Long.toUnsignedString(a)).add(new BigInteger(Long.toUnsignedString(b)));
  }
}
