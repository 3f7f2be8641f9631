package dev.kiln.api.http;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the requests of one client connection, one after another, on the calling thread. It reads
 * a request, passes it to the handler and writes the response. The connection stays open unless the
 * client requests a close or sent bytes the server cannot parse past.
 *
 * <p>A client that stops in the middle of a request gets a 408 and is disconnected after {@link
 * Limits#requestTimeoutMillis}; an idle connection between requests stays open, as Firecracker's
 * clients keep theirs.
 */
public final class HttpConnection implements Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(HttpConnection.class);
  private static final byte[] CONTINUE =
      "HTTP/1.1 100 Continue\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  /** Handles one parsed request. Implementations turn their own failures into a response. */
  @FunctionalInterface
  public interface Handler {
    HttpResponse handle(HttpRequest request);
  }

  /**
   * The connection's limits.
   *
   * @param maxHeadBytes the longest request line and headers together
   * @param maxPayloadBytes the longest body ({@code --http-api-max-payload-size})
   * @param requestTimeoutMillis how long a started request may take to arrive whole
   */
  public record Limits(int maxHeadBytes, long maxPayloadBytes, long requestTimeoutMillis) {
    /** The largest {@code maxPayloadBytes}: a body is read into one Java array. */
    public static final long MAX_PAYLOAD_BYTES = Integer.MAX_VALUE - 8;

    /**
     * Checks the limits.
     *
     * @throws IllegalArgumentException when a limit is not positive, or {@code maxPayloadBytes} is
     *     above {@link #MAX_PAYLOAD_BYTES}
     */
    public Limits {
      if (maxHeadBytes < 1) {
        throw new IllegalArgumentException("maxHeadBytes must be positive, got " + maxHeadBytes);
      }
      if (maxPayloadBytes < 1 || maxPayloadBytes > MAX_PAYLOAD_BYTES) {
        throw new IllegalArgumentException(
            "maxPayloadBytes must be between 1 and "
                + MAX_PAYLOAD_BYTES
                + ", got "
                + maxPayloadBytes);
      }
      if (requestTimeoutMillis < 1) {
        throw new IllegalArgumentException(
            "requestTimeoutMillis must be positive, got " + requestTimeoutMillis);
      }
    }
  }

  /** How long a rejected client may go on sending before the connection closes. */
  static final long LINGER_MILLIS = 2_000;

  /** How many bytes of a rejected request are read and dropped at most before closing. */
  static final long LINGER_MAX_BYTES = 64L << 20;

  private final ByteChannel channel;
  private final Handler handler;
  private final Limits limits;
  private final ScheduledExecutorService timer;
  private final AtomicBoolean closed = new AtomicBoolean();
  private byte[] buffer;
  private int start;
  private int end;

  public HttpConnection(
      ByteChannel channel, Handler handler, Limits limits, ScheduledExecutorService timer) {
    this.channel = channel;
    this.handler = handler;
    this.limits = limits;
    this.timer = timer;
    this.buffer = new byte[Math.min(limits.maxHeadBytes() + 4, 4096)];
  }

  @Override
  public void run() {
    try {
      while (!closed.get()) {
        if (!serveOne()) {
          break;
        }
      }
    } catch (ClosedChannelException e) {
      // Closed by the request timeout or by the server shutting down.
    } catch (IOException e) {
      LOG.debug("API connection ended: {}", e.getMessage());
    } finally {
      close();
    }
  }

  /** Serves one request; returns false when the connection must end. */
  private boolean serveOne() throws IOException {
    int headEnd = findHeadEnd(start);
    if (headEnd < 0 && end == start) {
      // Idle between requests: wait for the first byte without a deadline.
      compact();
      if (!fill()) {
        return false;
      }
    }
    ScheduledFuture<?> deadline =
        timer.schedule(this::timeOut, limits.requestTimeoutMillis(), TimeUnit.MILLISECONDS);
    try {
      HttpRequest request;
      boolean close;
      try {
        headEnd = readHead();
        if (headEnd < 0) {
          return false;
        }
        RequestHead head = RequestHead.parse(buffer, start, headEnd - start);
        int afterHead = skipTerminator(headEnd);
        long length = head.contentLength();
        if (length > limits.maxPayloadBytes()) {
          throw new HttpException(
              400,
              String.format(
                  "Request payload with size %d is larger than the limit of %d allowed by the"
                      + " server; send a smaller body or start Kiln with a larger"
                      + " --http-api-max-payload-size",
                  length, limits.maxPayloadBytes()));
        }
        start = afterHead;
        if (head.expectsContinue() && length > 0 && end - start < length) {
          write(CONTINUE);
        }
        byte[] body = readBody((int) length);
        if (body == null) {
          return false;
        }
        request = new HttpRequest(head.method(), head.path(), head.headers(), body);
        close = head.wantsClose();
      } catch (HttpException e) {
        // The server cannot tell where the next request would start, so it replies and closes.
        deadline.cancel(false);
        write(HttpResponse.fault(e.status(), e.getMessage()).encode(true));
        discardInput();
        return false;
      }
      deadline.cancel(false);
      HttpResponse response = handler.handle(request);
      write(response.encode(close));
      return !close;
    } finally {
      deadline.cancel(false);
    }
  }

  /**
   * Reads until the buffer contains a whole request head. Returns the offset of its terminating
   * empty line, or -1 at end of stream.
   */
  private int readHead() throws IOException, HttpException {
    int scanFrom = start;
    while (true) {
      int headEnd = findHeadEnd(scanFrom);
      if (headEnd >= 0) {
        if (headEnd - start > limits.maxHeadBytes()) {
          throw headTooLarge();
        }
        return headEnd;
      }
      if (end - start > limits.maxHeadBytes() + 3) {
        throw headTooLarge();
      }
      checkRequestLineBytes();
      scanFrom = Math.max(start, end - 3);
      if (!fill()) {
        return -1;
      }
    }
  }

  /**
   * Rejects a request line with a control byte at once, instead of waiting for an end of line that
   * a client sending binary data may never send. CR is allowed, as the end of the line.
   */
  private void checkRequestLineBytes() throws HttpException {
    for (int i = start; i < end && buffer[i] != '\n'; i++) {
      int b = buffer[i] & 0xff;
      if ((b < 0x20 && b != '\r') || b == 0x7f) {
        throw new HttpException(
            400,
            String.format(
                "the request line has the control byte 0x%02x; send METHOD PATH HTTP/1.1", b));
      }
    }
  }

  private HttpException headTooLarge() {
    return new HttpException(
        400,
        String.format(
            "the request line and headers are longer than %d bytes; send fewer or shorter headers",
            limits.maxHeadBytes()));
  }

  /**
   * Returns the offset of the CRLF CRLF (or LF LF) that ends the head, searching from {@code from}.
   */
  private int findHeadEnd(int from) {
    for (int i = from; i < end; i++) {
      if (buffer[i] != '\n') {
        continue;
      }
      if (i + 1 < end && buffer[i + 1] == '\n') {
        return i;
      }
      if (i + 2 < end && buffer[i + 1] == '\r' && buffer[i + 2] == '\n') {
        return i > start && buffer[i - 1] == '\r' ? i - 1 : i;
      }
    }
    return -1;
  }

  /** Returns the offset just after the empty line that starts at {@code headEnd}. */
  private int skipTerminator(int headEnd) {
    int i = headEnd;
    if (buffer[i] == '\r') {
      i++;
    }
    i++; // the line's own LF
    if (buffer[i] == '\r') {
      i++;
    }
    return i + 1;
  }

  private byte[] readBody(int length) throws IOException {
    byte[] body = new byte[length];
    int have = Math.min(length, end - start);
    System.arraycopy(buffer, start, body, 0, have);
    start += have;
    ByteBuffer rest = ByteBuffer.wrap(body, have, length - have);
    while (rest.hasRemaining()) {
      if (channel.read(rest) < 0) {
        return null;
      }
    }
    return body;
  }

  /**
   * Ends the server's side of the stream, then reads and drops what the client still sends, until
   * it closes or {@link #LINGER_MILLIS} or {@link #LINGER_MAX_BYTES} run out (the staged close of
   * RFC 9112 section 9.6). A client that writes its whole request before it reads, as most do, then
   * gets the error response in place of a broken pipe.
   */
  private void discardInput() throws IOException {
    if (!(channel instanceof SocketChannel socket)) {
      return;
    }
    socket.shutdownOutput();
    ScheduledFuture<?> limit = timer.schedule(this::close, LINGER_MILLIS, TimeUnit.MILLISECONDS);
    try {
      ByteBuffer scratch = ByteBuffer.allocate(8192);
      long discarded = 0;
      while (discarded < LINGER_MAX_BYTES) {
        scratch.clear();
        int n = channel.read(scratch);
        if (n < 0) {
          return;
        }
        discarded += n;
      }
    } finally {
      limit.cancel(false);
    }
  }

  /** Reads more bytes after {@code end}; returns false at end of stream. */
  private boolean fill() throws IOException {
    if (end == buffer.length) {
      if (start > 0) {
        compact();
      } else {
        byte[] larger = new byte[Math.min(buffer.length * 2, limits.maxHeadBytes() + 8)];
        if (larger.length <= buffer.length) {
          larger = new byte[buffer.length + 4096];
        }
        System.arraycopy(buffer, 0, larger, 0, end);
        buffer = larger;
      }
    }
    int n = channel.read(ByteBuffer.wrap(buffer, end, buffer.length - end));
    if (n < 0) {
      return false;
    }
    end += n;
    return true;
  }

  private void compact() {
    if (start == 0) {
      return;
    }
    System.arraycopy(buffer, start, buffer, 0, end - start);
    end -= start;
    start = 0;
  }

  private synchronized void write(byte[] bytes) throws IOException {
    ByteBuffer out = ByteBuffer.wrap(bytes);
    while (out.hasRemaining()) {
      channel.write(out);
    }
  }

  // NOTE: this runs on the timer thread that all connections share. A client whose receive buffer
  // is full because it reads no responses blocks the 408 write, and with it every other deadline.
  private void timeOut() {
    try {
      write(
          HttpResponse.fault(
                  408,
                  String.format(
                      "the request did not arrive whole within %d ms; send it in one go",
                      limits.requestTimeoutMillis()))
              .encode(true));
    } catch (IOException e) {
      // The client is gone; closing is all that is left.
    }
    close();
  }

  /** Closes the connection; a read in progress then ends. */
  public void close() {
    if (closed.compareAndSet(false, true)) {
      try {
        channel.close();
      } catch (IOException e) {
        LOG.debug("Closing an API connection failed: {}", e.getMessage());
      }
    }
  }
}
