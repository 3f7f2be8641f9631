package dev.kiln.api.http;

/** A request the server cannot parse or accept. The connection replies with {@link #status}. */
public final class HttpException extends Exception {
  private static final long serialVersionUID = 1L;

  private final int status;

  public HttpException(int status, String message) {
    super(message);
    this.status = status;
  }

  /** Returns the HTTP status to answer with. */
  public int status() {
    return status;
  }
}
