package dev.kiln.api.http;

import java.util.Map;

/**
 * One parsed HTTP request.
 *
 * @param method the method as sent, such as {@code PUT}
 * @param path the request target without its query string, such as {@code /drives/rootfs}
 * @param headers header values by lower-case name; a repeated header keeps its last value
 * @param body the body, empty when there is none
 */
public record HttpRequest(String method, String path, Map<String, String> headers, byte[] body) {
  /** Returns the value of header {@code name} (any case), or null. */
  public String header(String name) {
    return headers.get(name.toLowerCase(java.util.Locale.ROOT));
  }
}
