package dev.kiln.vmm.acpi;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Encodes ACPI Machine Language terms (ACPI 6.5, chapter 20.2) as byte arrays. Each method returns
 * the complete encoding of one term, so terms nest by passing the bytes of the inner ones. Only the
 * terms Kiln's DSDT needs are here: names, integers, strings, buffers, packages, devices, scopes,
 * methods and return.
 */
public final class Aml {
  // ACPI 6.5, 20.2.3 (data objects) and 20.2.5 (term objects): opcodes.
  static final int ZERO_OP = 0x00;
  static final int ONE_OP = 0x01;
  static final int NAME_OP = 0x08;
  static final int BYTE_PREFIX = 0x0a;
  static final int WORD_PREFIX = 0x0b;
  static final int DWORD_PREFIX = 0x0c;
  static final int STRING_PREFIX = 0x0d;
  static final int QWORD_PREFIX = 0x0e;
  static final int SCOPE_OP = 0x10;
  static final int BUFFER_OP = 0x11;
  static final int PACKAGE_OP = 0x12;
  static final int METHOD_OP = 0x14;
  static final int DUAL_NAME_PREFIX = 0x2e;
  static final int MULTI_NAME_PREFIX = 0x2f;
  static final int EXT_OP_PREFIX = 0x5b;
  static final int DEVICE_OP = 0x82;
  static final int ROOT_CHAR = '\\';
  static final int PARENT_PREFIX_CHAR = '^';
  static final int RETURN_OP = 0xa4;
  static final int ONES_OP = 0xff;

  /** The largest value a PkgLength encodes: 28 bits (ACPI 6.5, 20.2.4). */
  static final int MAX_PACKAGE_LENGTH = (1 << 28) - 1;

  private Aml() {}

  /**
   * Encodes a NameString (ACPI 6.5, 20.2.2): an optional root prefix {@code \} or parent prefixes
   * {@code ^}, then dot-separated name segments. A segment shorter than four characters is padded
   * with {@code _}, as ASL compilers do.
   *
   * @throws IllegalArgumentException when a segment is empty, longer than four characters, starts
   *     with a digit or contains a character other than A-Z, 0-9 and _
   */
  public static byte[] nameString(String path) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int at = 0;
    if (path.startsWith("\\")) {
      out.write(ROOT_CHAR);
      at = 1;
    } else {
      while (at < path.length() && path.charAt(at) == '^') {
        out.write(PARENT_PREFIX_CHAR);
        at++;
      }
    }
    String rest = path.substring(at);
    String[] segments = rest.isEmpty() ? new String[0] : rest.split("\\.", -1);
    switch (segments.length) {
      case 0 -> out.write(ZERO_OP); // NullName
      case 1 -> {}
      case 2 -> out.write(DUAL_NAME_PREFIX);
      default -> {
        if (segments.length > 255) {
          throw new IllegalArgumentException(
              "invalid AML name " + path + ": it has more than 255 segments");
        }
        out.write(MULTI_NAME_PREFIX);
        out.write(segments.length);
      }
    }
    for (String segment : segments) {
      out.writeBytes(nameSegment(segment, path));
    }
    return out.toByteArray();
  }

  private static byte[] nameSegment(String segment, String path) {
    if (segment.isEmpty() || segment.length() > 4) {
      throw new IllegalArgumentException(
          "invalid AML name segment '" + segment + "' in " + path + ": use 1 to 4 characters");
    }
    for (int i = 0; i < segment.length(); i++) {
      char c = segment.charAt(i);
      boolean lead = (c >= 'A' && c <= 'Z') || c == '_';
      boolean digit = c >= '0' && c <= '9';
      if (!lead && !(digit && i > 0)) {
        throw new IllegalArgumentException(
            "invalid AML name segment '"
                + segment
                + "' in "
                + path
                + ": use A-Z and _, and digits after the first character");
      }
    }
    String padded = (segment + "___").substring(0, 4);
    return padded.getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * Encodes a PkgLength (ACPI 6.5, 20.2.4) for a package whose content after the PkgLength is
   * {@code contentLength} bytes. The encoded length counts the PkgLength bytes themselves, so the
   * number of bytes used depends on the total.
   *
   * @throws IllegalArgumentException when the package does not fit in 28 bits
   */
  public static byte[] packageLength(int contentLength) {
    if (contentLength < 0) {
      throw new IllegalArgumentException("invalid AML package length " + contentLength);
    }
    if (contentLength + 1 <= 0x3f) {
      return new byte[] {(byte) (contentLength + 1)};
    }
    for (int extra = 1; extra <= 3; extra++) {
      long total = (long) contentLength + 1 + extra;
      // The lead byte carries 4 bits, each following byte 8 more.
      if (total < (1L << (4 + 8 * extra))) {
        byte[] out = new byte[1 + extra];
        out[0] = (byte) ((extra << 6) | (total & 0x0f));
        for (int i = 1; i <= extra; i++) {
          out[i] = (byte) (total >>> (4 + 8 * (i - 1)));
        }
        return out;
      }
    }
    throw new IllegalArgumentException(
        "AML package of "
            + contentLength
            + " bytes is too long: a PkgLength encodes at most "
            + MAX_PACKAGE_LENGTH);
  }

  /**
   * Encodes an integer with the shortest encoding (ACPI 6.5, 20.2.3): ZeroOp, OneOp and OnesOp for
   * 0, 1 and all ones, otherwise the smallest of ByteConst, WordConst, DWordConst and QWordConst.
   * {@code value} is taken as an unsigned 64-bit number.
   */
  public static byte[] integer(long value) {
    if (value == 0) {
      return new byte[] {ZERO_OP};
    }
    if (value == 1) {
      return new byte[] {ONE_OP};
    }
    if (value == -1L) {
      return new byte[] {(byte) ONES_OP};
    }
    if ((value & ~0xffL) == 0) {
      return littleEndian(BYTE_PREFIX, value, 1);
    }
    if ((value & ~0xffffL) == 0) {
      return littleEndian(WORD_PREFIX, value, 2);
    }
    if ((value & ~0xffff_ffffL) == 0) {
      return littleEndian(DWORD_PREFIX, value, 4);
    }
    return littleEndian(QWORD_PREFIX, value, 8);
  }

  /**
   * Encodes a String (ACPI 6.5, 20.2.3): StringPrefix, the ASCII characters, a NUL.
   *
   * @throws IllegalArgumentException when the text has characters outside 0x01 to 0x7f
   */
  public static byte[] string(String text) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(STRING_PREFIX);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == 0 || c > 0x7f) {
        throw new IllegalArgumentException(
            "invalid AML string '" + text + "': use ASCII characters 0x01 to 0x7f only");
      }
      out.write(c);
    }
    out.write(0);
    return out.toByteArray();
  }

  /**
   * Encodes a compressed EISA id (ACPI 6.5, 19.6.45, EISAID) such as {@code PNP0303} as a DWord
   * integer: three letters of 5 bits each and four hex digits, most significant byte first in
   * memory.
   *
   * @throws IllegalArgumentException when the id is not three letters A-Z and four hex digits
   */
  public static byte[] eisaId(String id) {
    if (!id.matches("[A-Z]{3}[0-9A-F]{4}")) {
      throw new IllegalArgumentException(
          "invalid EISA id '" + id + "': use three letters A-Z and four hex digits, as PNP0303");
    }
    int vendor =
        ((id.charAt(0) - 0x40) << 10) | ((id.charAt(1) - 0x40) << 5) | (id.charAt(2) - 0x40);
    int product = Integer.parseInt(id.substring(3), 16);
    // In memory: vendor high byte, vendor low byte, product high byte, product low byte.
    long value =
        ((vendor >>> 8) & 0xff)
            | ((vendor & 0xffL) << 8)
            | (((product >>> 8) & 0xffL) << 16)
            | ((product & 0xffL) << 24);
    return littleEndian(DWORD_PREFIX, value, 4);
  }

  /** Encodes {@code Name(path, value)}: DefName (ACPI 6.5, 20.2.5.1). */
  public static byte[] name(String path, byte[] value) {
    return concat(new byte[] {NAME_OP}, nameString(path), value);
  }

  /**
   * Encodes {@code Buffer() {data}}: DefBuffer (ACPI 6.5, 20.2.5.4), with the buffer size as the
   * shortest integer.
   */
  public static byte[] buffer(byte[] data) {
    return withPackageLength(new byte[] {BUFFER_OP}, concat(integer(data.length), data));
  }

  /**
   * Encodes {@code Package() {elements}}: DefPackage (ACPI 6.5, 20.2.5.4).
   *
   * @throws IllegalArgumentException when there are more than 255 elements
   */
  public static byte[] packageOf(byte[]... elements) {
    if (elements.length > 255) {
      throw new IllegalArgumentException(
          "an AML Package has at most 255 elements, not " + elements.length);
    }
    return withPackageLength(
        new byte[] {PACKAGE_OP}, concat(new byte[] {(byte) elements.length}, concat(elements)));
  }

  /** Encodes {@code Scope(path) {terms}}: DefScope (ACPI 6.5, 20.2.5.1). */
  public static byte[] scope(String path, byte[]... terms) {
    return withPackageLength(new byte[] {SCOPE_OP}, concat(nameString(path), concat(terms)));
  }

  /** Encodes {@code Device(path) {terms}}: DefDevice (ACPI 6.5, 20.2.5.2). */
  public static byte[] device(String path, byte[]... terms) {
    return withPackageLength(
        new byte[] {EXT_OP_PREFIX, (byte) DEVICE_OP}, concat(nameString(path), concat(terms)));
  }

  /**
   * Encodes {@code Method(path, argumentCount, Serialized or NotSerialized) {terms}}: DefMethod
   * (ACPI 6.5, 20.2.5.2) with sync level 0.
   *
   * @throws IllegalArgumentException when {@code argumentCount} is not 0 to 7
   */
  public static byte[] method(String path, int argumentCount, boolean serialized, byte[]... terms) {
    if (argumentCount < 0 || argumentCount > 7) {
      throw new IllegalArgumentException(
          "invalid AML method argument count " + argumentCount + ": use 0 to 7");
    }
    // MethodFlags: bits 0-2 the argument count, bit 3 serialized, bits 4-7 the sync level.
    int flags = argumentCount | (serialized ? 0x08 : 0);
    return withPackageLength(
        new byte[] {METHOD_OP}, concat(nameString(path), new byte[] {(byte) flags}, concat(terms)));
  }

  /** Encodes {@code Return(value)}: DefReturn (ACPI 6.5, 20.2.5.3). */
  public static byte[] returnValue(byte[] value) {
    return concat(new byte[] {(byte) RETURN_OP}, value);
  }

  /** Returns the opcode bytes, a PkgLength for the content, then the content. */
  static byte[] withPackageLength(byte[] opcode, byte[] content) {
    return concat(opcode, packageLength(content.length), content);
  }

  static byte[] concat(byte[]... parts) {
    int length = 0;
    for (byte[] part : parts) {
      length += part.length;
    }
    byte[] out = new byte[length];
    int at = 0;
    for (byte[] part : parts) {
      System.arraycopy(part, 0, out, at, part.length);
      at += part.length;
    }
    return out;
  }

  private static byte[] littleEndian(int prefix, long value, int width) {
    byte[] out = new byte[1 + width];
    out[0] = (byte) prefix;
    for (int i = 0; i < width; i++) {
      out[1 + i] = (byte) (value >>> (8 * i));
    }
    return out;
  }
}
