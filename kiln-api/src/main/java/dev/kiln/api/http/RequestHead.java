package dev.kiln.api.http;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The request line and headers of an HTTP/1.1 request (RFC 9112 sections 3 and 5), parsed from the
 * bytes before the empty line. Parsing is strict: every malformed part is a 400 naming it.
 *
 * @param method the method token
 * @param path the target's path, without the query string
 * @param version {@code HTTP/1.1} or {@code HTTP/1.0}
 * @param headers values by lower-case name
 */
public record RequestHead(String method, String path, String version, Map<String, String> headers) {

  /** The maximum length of a method token; every method Firecracker serves is shorter. */
  static final int MAX_METHOD_LENGTH = 16;

  /**
   * Parses the first {@code length} bytes of {@code bytes}: the request line and header lines, each
   * ending in CRLF (a bare LF is accepted too), without the empty line that ends the head.
   */
  public static RequestHead parse(byte[] bytes, int length) throws HttpException {
    return parse(bytes, 0, length);
  }

  /**
   * Parses {@code length} bytes of {@code bytes} from {@code offset}, as {@link #parse(byte[],
   * int)} does. A connection's buffer may still contain earlier requests before {@code offset}.
   */
  public static RequestHead parse(byte[] bytes, int offset, int length) throws HttpException {
    // Header field values are bytes; ISO-8859-1 keeps every byte as one char (RFC 9110 5.5).
    String text = new String(bytes, offset, length, StandardCharsets.ISO_8859_1);
    String[] lines = text.split("\r?\n", -1);
    String requestLine = lines[0];
    String[] parts = requestLine.split(" ", -1);
    if (parts.length != 3) {
      throw bad(
          "malformed request line \"" + printable(requestLine) + "\"; send METHOD PATH HTTP/1.1");
    }
    String method = parts[0];
    if (method.isEmpty() || method.length() > MAX_METHOD_LENGTH || !isToken(method)) {
      throw bad("invalid method \"" + printable(method) + "\"");
    }
    String version = parts[2];
    if (!version.equals("HTTP/1.1") && !version.equals("HTTP/1.0")) {
      throw bad("unsupported HTTP version \"" + printable(version) + "\"; use HTTP/1.1");
    }
    String target = parts[1];
    if (target.isEmpty() || target.charAt(0) != '/') {
      throw bad("request target \"" + printable(target) + "\" must be a path starting with /");
    }
    for (int i = 0; i < target.length(); i++) {
      char c = target.charAt(i);
      if (c <= 0x20 || c >= 0x7f) {
        throw bad(
            "request target \"" + printable(target) + "\" has a character not allowed in a URI");
      }
    }
    int query = target.indexOf('?');
    String path = query >= 0 ? target.substring(0, query) : target;

    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      String line = lines[i];
      if (line.isEmpty()) {
        throw bad("empty line inside the request head");
      }
      if (line.charAt(0) == ' ' || line.charAt(0) == '\t') {
        throw bad(
            "folded header line \""
                + printable(line)
                + "\"; obsolete line folding is not accepted");
      }
      int colon = line.indexOf(':');
      if (colon <= 0) {
        throw bad("malformed header line \"" + printable(line) + "\"; send Name: value");
      }
      String name = line.substring(0, colon);
      if (!isToken(name)) {
        throw bad("invalid header name \"" + printable(name) + "\"");
      }
      String value = trimWhitespace(line.substring(colon + 1));
      for (int j = 0; j < value.length(); j++) {
        char c = value.charAt(j);
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
          throw bad("header " + name + " has a control character in its value");
        }
      }
      String key = name.toLowerCase(Locale.ROOT);
      String previous = headers.put(key, value);
      if (key.equals("content-length") && previous != null && !previous.equals(value)) {
        throw bad("two different Content-Length headers");
      }
    }
    return new RequestHead(method, path, version, Map.copyOf(headers));
  }

  /**
   * Returns the body length from Content-Length, 0 without one.
   *
   * @throws HttpException for a malformed length or a Transfer-Encoding, which this server does not
   *     take
   */
  public long contentLength() throws HttpException {
    if (headers.containsKey("transfer-encoding")) {
      throw bad(
          "Transfer-Encoding \""
              + printable(headers.get("transfer-encoding"))
              + "\" is not supported; send the body with a Content-Length");
    }
    String value = headers.get("content-length");
    if (value == null) {
      return 0;
    }
    if (value.isEmpty() || value.length() > 18 || !value.chars().allMatch(Character::isDigit)) {
      throw bad("Content-Length \"" + printable(value) + "\" is not a decimal number");
    }
    return Long.parseLong(value);
  }

  /** True when the client asked for a {@code 100 Continue} before it sends the body. */
  public boolean expectsContinue() {
    String expect = headers.get("expect");
    return expect != null && expect.equalsIgnoreCase("100-continue");
  }

  /** Returns true when the client or the protocol version requests a close after this request. */
  public boolean wantsClose() {
    String connection = headers.get("connection");
    if (connection != null) {
      String value = connection.toLowerCase(Locale.ROOT);
      if (value.contains("close")) {
        return true;
      }
      if (value.contains("keep-alive")) {
        return false;
      }
    }
    return version.equals("HTTP/1.0");
  }

  /**
   * Returns {@code s} without leading and trailing spaces and tabs, the optional whitespace around
   * a field value (RFC 9110 section 5.6.3). String.strip would also drop control characters such as
   * U+001F, which must be rejected instead.
   */
  private static String trimWhitespace(String s) {
    int from = 0;
    int to = s.length();
    while (from < to && (s.charAt(from) == ' ' || s.charAt(from) == '\t')) {
      from++;
    }
    while (to > from && (s.charAt(to - 1) == ' ' || s.charAt(to - 1) == '\t')) {
      to--;
    }
    return s.substring(from, to);
  }

  // RFC 9110 section 5.6.2: token = 1*tchar.
  private static boolean isToken(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean tchar =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
      if (!tchar) {
        return false;
      }
    }
    return !s.isEmpty();
  }

  /** Returns at most 64 characters of {@code s}, with control and non-ASCII characters escaped. */
  static String printable(String s) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < s.length() && out.length() < 64; i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c >= 0x7f) {
        out.append(String.format("\\x%02x", (int) c & 0xff));
      } else {
        out.append(c);
      }
    }
    if (out.length() >= 64) {
      out.append("...");
    }
    return out.toString();
  }

  private static HttpException bad(String message) {
    return new HttpException(400, message);
  }
}
