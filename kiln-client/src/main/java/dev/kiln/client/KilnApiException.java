package dev.kiln.client;

import java.io.IOException;

/**
 * An error response from the API server: a status of 300 or more, usually with a JSON body {@code
 * {"fault_message": "..."}}.
 */
public final class KilnApiException extends IOException {
  private final String method;
  private final String path;
  private final int statusCode;
  private final String faultMessage;

  /**
   * Creates the exception for one failed request.
   *
   * @param method the request method, such as {@code PUT}
   * @param path the request path, such as {@code /actions}
   * @param statusCode the HTTP status code
   * @param faultMessage the server's {@code fault_message}, or the raw body if it had none
   */
  public KilnApiException(String method, String path, int statusCode, String faultMessage) {
    super(method + " " + path + " failed with status " + statusCode + ": " + faultMessage);
    this.method = method;
    this.path = path;
    this.statusCode = statusCode;
    this.faultMessage = faultMessage;
  }

  /** Returns the request method, such as {@code PUT}. */
  public String method() {
    return method;
  }

  /** Returns the request path, such as {@code /actions}. */
  public String path() {
    return path;
  }

  /** Returns the HTTP status code, such as 400. */
  public int statusCode() {
    return statusCode;
  }

  /**
   * Returns the server's {@code fault_message}, or the raw response body when it was not JSON with
   * that field.
   */
  public String faultMessage() {
    return faultMessage;
  }
}
