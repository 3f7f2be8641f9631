package dev.kiln.client;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * One HTTP response as read from the API socket.
 *
 * @param statusCode the status code, such as 204
 * @param headers the header fields, keyed by lower-case name; a repeated field keeps its last value
 * @param body the body, empty when the response had none
 */
record HttpResponse(int statusCode, Map<String, String> headers, byte[] body) {
  /** Returns the body decoded as UTF-8. */
  String bodyText() {
    return new String(body, StandardCharsets.UTF_8);
  }
}
