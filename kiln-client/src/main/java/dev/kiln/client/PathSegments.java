package dev.kiln.client;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/** Percent-encoding of path parameters, such as a drive id in {@code /drives/{drive_id}}. */
final class PathSegments {
  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  private PathSegments() {}

  /**
   * Encodes {@code value} as one path segment: unreserved characters (RFC 3986, 2.3) stay as they
   * are and every other UTF-8 byte becomes {@code %XX}, so {@code /}, {@code ?} and dot segments
   * cannot change the request's path.
   *
   * @throws IllegalArgumentException if {@code value} is empty
   */
  static String encode(String value) {
    Objects.requireNonNull(value, "path parameter");
    if (value.isEmpty()) {
      throw new IllegalArgumentException("path parameter must not be empty");
    }
    if (value.equals(".") || value.equals("..")) {
      // Dot segments are unreserved but would be read as "this" or "parent" directory.
      return value.replace(".", "%2E");
    }
    StringBuilder encoded = new StringBuilder(value.length());
    for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      if (isUnreserved(c)) {
        encoded.append((char) c);
      } else {
        encoded.append('%').append(HEX[c >> 4]).append(HEX[c & 0xf]);
      }
    }
    return encoded.toString();
  }

  private static boolean isUnreserved(int c) {
    return (c >= 'A' && c <= 'Z')
        || (c >= 'a' && c <= 'z')
        || (c >= '0' && c <= '9')
        || c == '-'
        || c == '.'
        || c == '_'
        || c == '~';
  }
}
