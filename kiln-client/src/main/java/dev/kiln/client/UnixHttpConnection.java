package dev.kiln.client;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ProtocolException;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A minimal HTTP/1.1 client on one keep-alive connection to a Unix domain socket.
 *
 * <p>It sends one request at a time (no pipelining) with a {@code Content-Length} body, and reads
 * responses framed by {@code Content-Length}, by a status that has no body (1xx, 204, 304), or by
 * the server closing the connection. Every request has a deadline that covers connecting, writing
 * and reading. Calls are serialized on this object, so one instance may be shared by threads.
 *
 * <p>When the server has closed an idle keep-alive connection, the next request reconnects once and
 * is sent again, but only if the old connection returned no byte of a response.
 */
final class UnixHttpConnection implements Closeable {
  /** Maximum size of a response's status line and header fields, in bytes. */
  static final int MAX_HEADER_BYTES = 64 * 1024;

  /** Maximum size of a response body, in bytes; MMDS contents are the largest bodies. */
  static final int MAX_BODY_BYTES = 64 * 1024 * 1024;

  private static final System.Logger LOG = System.getLogger(UnixHttpConnection.class.getName());
  private static final byte[] HEADER_END = {'\r', '\n', '\r', '\n'};

  private final UnixDomainSocketAddress address;
  private SocketChannel channel;
  private Selector selector;

  UnixHttpConnection(UnixDomainSocketAddress address) {
    this.address = address;
  }

  /**
   * Sends a request and reads its response.
   *
   * @param method the request method, such as {@code PUT}
   * @param target the request target: an absolute path, already percent-encoded
   * @param body the JSON body, or {@code null} to send none
   * @param timeout the deadline for the whole exchange, measured from this call
   * @return the response, whatever its status
   * @throws SocketTimeoutException if the exchange did not finish within {@code timeout}
   * @throws ProtocolException if the response is not valid HTTP/1.1 or exceeds the size limits
   * @throws IOException if connecting, writing or reading failed
   */
  synchronized HttpResponse send(String method, String target, byte[] body, Duration timeout)
      throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    byte[] request = encodeRequest(method, target, body);

    boolean reused = channel != null;
    if (reused && !isOpenAndIdle()) {
      LOG.log(System.Logger.Level.DEBUG, "Server closed the idle connection to {0}", address);
      closeChannel();
      reused = false;
    }
    while (true) {
      if (channel == null) {
        connect(deadline);
      }
      try {
        return exchange(request, deadline);
      } catch (ClosedBeforeResponseException e) {
        closeChannel();
        if (!reused) {
          throw new IOException(
              "Server at "
                  + address
                  + " closed the connection before responding to "
                  + method
                  + " "
                  + target,
              e.getCause());
        }
        // The server closed the kept-alive connection while this request was on its way, so it
        // never responded to it: send it once more on a fresh connection.
        LOG.log(
            System.Logger.Level.DEBUG,
            "Reconnecting to {0} to resend {1} {2}",
            address,
            method,
            target);
        reused = false;
      } catch (IOException | RuntimeException e) {
        closeChannel();
        throw e;
      }
    }
  }

  /** Closes the connection; the next request opens a new one. */
  @Override
  public synchronized void close() throws IOException {
    closeChannel();
  }

  private static byte[] encodeRequest(String method, String target, byte[] body) {
    StringBuilder head = new StringBuilder(128);
    head.append(method).append(' ').append(target).append(" HTTP/1.1\r\n");
    head.append("Host: localhost\r\n");
    head.append("Accept: application/json\r\n");
    boolean sendsLength = body != null || method.equals("PUT") || method.equals("PATCH");
    if (body != null) {
      head.append("Content-Type: application/json\r\n");
    }
    if (sendsLength) {
      head.append("Content-Length: ").append(body == null ? 0 : body.length).append("\r\n");
    }
    head.append("\r\n");
    byte[] headBytes = head.toString().getBytes(StandardCharsets.US_ASCII);
    if (body == null) {
      return headBytes;
    }
    byte[] request = new byte[headBytes.length + body.length];
    System.arraycopy(headBytes, 0, request, 0, headBytes.length);
    System.arraycopy(body, 0, request, headBytes.length, body.length);
    return request;
  }

  /** Checks, without blocking, that the kept-alive connection has not been closed by the server. */
  private boolean isOpenAndIdle() {
    try {
      ByteBuffer probe = ByteBuffer.allocate(1);
      // An idle connection has nothing to read: end of stream means the server closed it, and
      // stray bytes mean the previous exchange left the stream out of step.
      return channel.read(probe) == 0;
    } catch (IOException e) {
      return false;
    }
  }

  private void connect(long deadline) throws IOException {
    SocketChannel opened = SocketChannel.open(StandardProtocolFamily.UNIX);
    Selector openedSelector = null;
    try {
      opened.configureBlocking(false);
      openedSelector = Selector.open();
      SelectionKey key = opened.register(openedSelector, 0);
      if (!opened.connect(address)) {
        key.interestOps(SelectionKey.OP_CONNECT);
        while (!opened.finishConnect()) {
          await(openedSelector, deadline, "connecting to " + address);
        }
      }
    } catch (IOException | RuntimeException e) {
      opened.close();
      if (openedSelector != null) {
        openedSelector.close();
      }
      throw e;
    }
    channel = opened;
    selector = openedSelector;
  }

  private HttpResponse exchange(byte[] request, long deadline) throws IOException {
    write(ByteBuffer.wrap(request), deadline);
    return readResponse(deadline);
  }

  private void write(ByteBuffer buffer, long deadline) throws IOException {
    SelectionKey key = channel.keyFor(selector);
    while (buffer.hasRemaining()) {
      int written;
      try {
        written = channel.write(buffer);
      } catch (IOException e) {
        // A broken pipe or reset here means the server closed the connection before reading.
        throw new ClosedBeforeResponseException(e);
      }
      if (written == 0) {
        key.interestOps(SelectionKey.OP_WRITE);
        await(selector, deadline, "writing a request to " + address);
      }
    }
  }

  private HttpResponse readResponse(long deadline) throws IOException {
    ByteArrayOutputStream received = new ByteArrayOutputStream(512);
    ByteBuffer chunk = ByteBuffer.allocate(8192);
    int headerEnd;
    while ((headerEnd = indexOf(received, HEADER_END)) < 0) {
      if (received.size() > MAX_HEADER_BYTES) {
        throw new ProtocolException(
            "Response header from " + address + " exceeds " + MAX_HEADER_BYTES + " bytes");
      }
      int read;
      try {
        read = readSome(chunk, received, deadline, "reading a response header");
      } catch (InterruptedIOException | ProtocolException e) {
        throw e;
      } catch (IOException e) {
        if (received.size() == 0) {
          // A reset before the first byte means the server had closed the connection.
          throw new ClosedBeforeResponseException(e);
        }
        throw e;
      }
      if (read < 0) {
        if (received.size() == 0) {
          throw new ClosedBeforeResponseException(null);
        }
        throw new ProtocolException(
            "Server at " + address + " closed the connection inside a" + " response header");
      }
    }
    byte[] all = received.toByteArray();
    String head = new String(all, 0, headerEnd, StandardCharsets.ISO_8859_1);
    String[] lines = head.split("\r\n");
    StatusLine status = StatusLine.parse(lines[0]);
    Map<String, String> headers = parseHeaders(lines);

    boolean keepAlive = keepsAlive(status.version(), headers.get("connection"));
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    int bodyStart = headerEnd + HEADER_END.length;
    body.write(all, bodyStart, all.length - bodyStart);

    if (!status.hasBody()) {
      // NOTE: a 1xx interim response is treated as final; this client never sends
      // "Expect: 100-continue", so a server has no reason to send one.
      if (body.size() > 0) {
        keepAlive = false;
      }
    } else if (headers.containsKey("content-length")) {
      long length = parseContentLength(headers.get("content-length"));
      while (body.size() < length) {
        if (readSome(chunk, body, deadline, "reading a response body") < 0) {
          throw new ProtocolException(
              "Server at "
                  + address
                  + " closed the connection after "
                  + body.size()
                  + " of "
                  + length
                  + " body bytes");
        }
      }
      if (body.size() > length) {
        // Bytes past the body belong to no request: the stream is out of step, so drop it.
        keepAlive = false;
        byte[] extra = body.toByteArray();
        body.reset();
        body.write(extra, 0, (int) length);
      }
    } else if (headers.containsKey("transfer-encoding")) {
      throw new ProtocolException(
          "Response from "
              + address
              + " uses Transfer-Encoding "
              + headers.get("transfer-encoding")
              + ", which this client does not read; the Firecracker"
              + " API sends Content-Length");
    } else {
      while (readSome(chunk, body, deadline, "reading a response body") >= 0) {
        // The body ends where the server closes the connection.
      }
      keepAlive = false;
    }
    if (!keepAlive) {
      closeChannel();
    }
    return new HttpResponse(status.code(), headers, body.toByteArray());
  }

  /** Reads at least one byte into {@code sink}, or returns -1 at the end of the stream. */
  private int readSome(ByteBuffer chunk, ByteArrayOutputStream sink, long deadline, String step)
      throws IOException {
    SelectionKey key = channel.keyFor(selector);
    while (true) {
      chunk.clear();
      int read = channel.read(chunk);
      if (read < 0) {
        return -1;
      }
      if (read > 0) {
        if (sink.size() + read > MAX_BODY_BYTES) {
          throw new ProtocolException(
              "Response from " + address + " exceeds " + MAX_BODY_BYTES + " bytes");
        }
        sink.write(chunk.array(), 0, read);
        return read;
      }
      key.interestOps(SelectionKey.OP_READ);
      await(selector, deadline, step + " from " + address);
    }
  }

  /** Waits until the selector's key is ready, or throws when the deadline has passed. */
  private static void await(Selector selector, long deadline, String step) throws IOException {
    long remainingNanos = deadline - System.nanoTime();
    if (remainingNanos <= 0) {
      throw new SocketTimeoutException("Timed out " + step);
    }
    long millis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(remainingNanos));
    selector.select(millis);
    selector.selectedKeys().clear();
    if (Thread.interrupted()) {
      throw new InterruptedIOException("Interrupted while " + step);
    }
  }

  private Map<String, String> parseHeaders(String[] lines) throws ProtocolException {
    Map<String, String> headers = new HashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      if (colon <= 0) {
        throw new ProtocolException("Invalid header field from " + address + ": " + lines[i]);
      }
      String name = lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
      headers.put(name, lines[i].substring(colon + 1).trim());
    }
    return headers;
  }

  private long parseContentLength(String value) throws ProtocolException {
    long length;
    try {
      length = Long.parseLong(value);
    } catch (NumberFormatException e) {
      throw new ProtocolException("Invalid Content-Length from " + address + ": " + value);
    }
    if (length < 0 || length > MAX_BODY_BYTES) {
      throw new ProtocolException(
          "Content-Length " + length + " from " + address + " is outside 0 to " + MAX_BODY_BYTES);
    }
    return length;
  }

  private static boolean keepsAlive(String version, String connection) {
    String option = connection == null ? "" : connection.toLowerCase(Locale.ROOT);
    if (version.equals("HTTP/1.0")) {
      return option.contains("keep-alive");
    }
    return !option.contains("close");
  }

  private static int indexOf(ByteArrayOutputStream stream, byte[] pattern) {
    byte[] bytes = stream.toByteArray();
    outer:
    for (int i = 0; i + pattern.length <= bytes.length; i++) {
      for (int j = 0; j < pattern.length; j++) {
        if (bytes[i + j] != pattern[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private void closeChannel() throws IOException {
    SocketChannel closing = channel;
    Selector closingSelector = selector;
    channel = null;
    selector = null;
    try {
      if (closing != null) {
        closing.close();
      }
    } finally {
      if (closingSelector != null) {
        closingSelector.close();
      }
    }
  }

  /** The status line of a response, such as {@code HTTP/1.1 204 No Content}. */
  private record StatusLine(String version, int code) {
    static StatusLine parse(String line) throws ProtocolException {
      String[] parts = line.split(" ", 3);
      if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
        throw new ProtocolException("Invalid HTTP status line: " + line);
      }
      try {
        int code = Integer.parseInt(parts[1]);
        if (code < 100 || code > 999) {
          throw new ProtocolException("Invalid HTTP status code in: " + line);
        }
        return new StatusLine(parts[0], code);
      } catch (NumberFormatException e) {
        throw new ProtocolException("Invalid HTTP status code in: " + line);
      }
    }

    boolean hasBody() {
      return code >= 200 && code != 204 && code != 304;
    }
  }

  /** The connection ended before the first byte of a response, so the request may be resent. */
  private static final class ClosedBeforeResponseException extends IOException {
    ClosedBeforeResponseException(IOException cause) {
      super(cause);
    }
  }
}
