package dev.kiln.api.http;

import java.nio.charset.StandardCharsets;

/**
 * One HTTP response: a status and an optional JSON body.
 *
 * @param status the status code
 * @param body the JSON body, or null for none
 */
public record HttpResponse(int status, String body) {
  /** Returns 204 No Content, Firecracker's response to every successful change. */
  public static HttpResponse noContent() {
    return new HttpResponse(204, null);
  }

  /** Returns 200 OK with a JSON body. */
  public static HttpResponse ok(String json) {
    return new HttpResponse(200, json);
  }

  /** Returns an error with Firecracker's body, {@code {"fault_message": "..."}}. */
  public static HttpResponse fault(int status, String message) {
    return new HttpResponse(status, "{\"fault_message\":" + jsonString(message) + "}");
  }

  /** Returns {@code s} as a JSON string literal (RFC 8259 section 7). */
  public static String jsonString(String s) {
    StringBuilder out = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.append('"').toString();
  }

  /** Returns the reason phrase of the status, as RFC 9110 section 15 names it. */
  public String reason() {
    return switch (status) {
      case 100 -> "Continue";
      case 200 -> "OK";
      case 204 -> "No Content";
      case 400 -> "Bad Request";
      case 404 -> "Not Found";
      case 405 -> "Method Not Allowed";
      case 408 -> "Request Timeout";
      case 413 -> "Payload Too Large";
      case 431 -> "Request Header Fields Too Large";
      case 500 -> "Internal Server Error";
      case 501 -> "Not Implemented";
      case 503 -> "Service Unavailable";
      default -> "Status " + status;
    };
  }

  /** Returns the response as it goes on the wire, with a keep-alive or a close header. */
  public byte[] encode(boolean close) {
    byte[] content = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    StringBuilder head = new StringBuilder(160);
    head.append("HTTP/1.1 ").append(status).append(' ').append(reason()).append("\r\n");
    head.append("Server: Kiln API\r\n");
    head.append("Connection: ").append(close ? "close" : "keep-alive").append("\r\n");
    if (body != null) {
      head.append("Content-Type: application/json\r\n");
    }
    if (status != 204) {
      head.append("Content-Length: ").append(content.length).append("\r\n");
    }
    head.append("\r\n");
    byte[] headBytes = head.toString().getBytes(StandardCharsets.US_ASCII);
    byte[] wire = new byte[headBytes.length + content.length];
    System.arraycopy(headBytes, 0, wire, 0, headBytes.length);
    System.arraycopy(content, 0, wire, headBytes.length, content.length);
    return wire;
  }
}
