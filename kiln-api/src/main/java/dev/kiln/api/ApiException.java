package dev.kiln.api;

/** A rejected API request. Its message becomes the {@code fault_message} of a 400. */
final class ApiException extends Exception {
  private static final long serialVersionUID = 1L;

  ApiException(String message) {
    super(message);
  }

  ApiException(String message, Throwable cause) {
    super(message, cause);
  }
}
