package dev.kiln.api.http;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A raw HTTP/1.1 client on a Unix socket for the server tests: sends bytes exactly as given and
 * parses each response strictly, so a malformed response fails the test that reads it.
 */
final class WireClient implements AutoCloseable {
  private static final Pattern STATUS_LINE = Pattern.compile("HTTP/1\\.1 (\\d{3}) ([^\\r\\n]+)");
  private static final Pattern HEADER_LINE = Pattern.compile("([!#$%&'*+.^_`|~0-9A-Za-z-]+): (.*)");

  /** One response as it arrived. */
  record Response(int status, String reason, Map<String, String> headers, String body) {
    /** Returns the value of header {@code name} (any case), or null. */
    String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }

    boolean closes() {
      return "close".equals(header("connection"));
    }
  }

  /** A response that does not follow RFC 9112's message format. */
  static final class MalformedResponse extends IOException {
    private static final long serialVersionUID = 1L;

    MalformedResponse(String message) {
      super(message);
    }
  }

  private final SocketChannel channel;
  private byte[] buffer = new byte[8192];
  private int start;
  private int end;

  WireClient(SocketChannel channel) {
    this.channel = channel;
  }

  /** Connects to the server socket at {@code path}. */
  static WireClient connect(Path path) throws IOException {
    SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
    channel.connect(UnixDomainSocketAddress.of(path));
    return new WireClient(channel);
  }

  void send(String text) throws IOException {
    send(text.getBytes(StandardCharsets.ISO_8859_1));
  }

  void send(byte[] bytes) throws IOException {
    ByteBuffer out = ByteBuffer.wrap(bytes);
    while (out.hasRemaining()) {
      channel.write(out);
    }
  }

  /** Ends the client's side of the stream, as a client does that stops sending. */
  void shutdownOutput() throws IOException {
    channel.shutdownOutput();
  }

  /** Reads one response; fails when none arrives whole within {@code timeout}. */
  Response read(Duration timeout) throws IOException, InterruptedException, TimeoutException {
    return withTimeout(timeout, this::readResponse);
  }

  /**
   * Waits for the server to end the connection: returns true at end of stream or a connection
   * reset, false when bytes arrive instead. Fails when neither happens within {@code timeout}.
   */
  boolean awaitClose(Duration timeout) throws IOException, InterruptedException, TimeoutException {
    return withTimeout(
        timeout,
        () -> {
          if (end > start) {
            return false;
          }
          try {
            return !fill();
          } catch (IOException e) {
            // Linux resets the peer of a Unix socket closed with unread data in it.
            return e.getMessage() != null && e.getMessage().contains("reset");
          }
        });
  }

  /**
   * Reads responses until the server ends the connection and returns them. Fails with {@link
   * MalformedResponse} when one is malformed or cut off, and when the connection stays open past
   * {@code timeout}.
   */
  java.util.List<Response> readUntilClose(Duration timeout)
      throws IOException, InterruptedException, TimeoutException {
    return withTimeout(
        timeout,
        () -> {
          java.util.List<Response> responses = new java.util.ArrayList<>();
          while (true) {
            try {
              if (end == start && !fill()) {
                return responses;
              }
            } catch (IOException e) {
              if (e.getMessage() != null && e.getMessage().contains("reset")) {
                return responses;
              }
              throw e;
            }
            responses.add(readResponse());
          }
        });
  }

  @FunctionalInterface
  private interface Step<T> {
    T run() throws IOException;
  }

  private <T> T withTimeout(Duration timeout, Step<T> step)
      throws IOException, InterruptedException, TimeoutException {
    FutureTask<T> task =
        new FutureTask<>(
            () -> {
              return step.run();
            });
    Thread.ofVirtual().start(task);
    try {
      return task.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      channel.close();
      throw e;
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw new IllegalStateException(e.getCause());
    }
  }

  private Response readResponse() throws IOException {
    int headEnd;
    while ((headEnd = indexOf("\r\n\r\n")) < 0) {
      if (!fill()) {
        throw new MalformedResponse(
            "the stream ended inside a response head: "
                + new String(buffer, start, end - start, StandardCharsets.ISO_8859_1));
      }
    }
    String head = new String(buffer, start, headEnd - start, StandardCharsets.ISO_8859_1);
    start = headEnd + 4;
    String[] lines = head.split("\r\n", -1);
    Matcher status = STATUS_LINE.matcher(lines[0]);
    if (!status.matches()) {
      throw new MalformedResponse("malformed status line: " + lines[0]);
    }
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      Matcher header = HEADER_LINE.matcher(lines[i]);
      if (!header.matches()) {
        throw new MalformedResponse("malformed header line: " + lines[i]);
      }
      String name = header.group(1).toLowerCase(Locale.ROOT);
      if (headers.put(name, header.group(2)) != null) {
        throw new MalformedResponse("repeated header: " + name);
      }
    }
    int code = Integer.parseInt(status.group(1));
    String length = headers.get("content-length");
    boolean noBody = code == 100 || code == 204;
    if (noBody && length != null) {
      throw new MalformedResponse(code + " with a Content-Length");
    }
    if (!noBody && length == null) {
      throw new MalformedResponse(code + " without a Content-Length");
    }
    int bodyLength = noBody ? 0 : Integer.parseInt(length);
    while (end - start < bodyLength) {
      if (!fill()) {
        throw new MalformedResponse("the stream ended inside a response body");
      }
    }
    String body = new String(buffer, start, bodyLength, StandardCharsets.UTF_8);
    start += bodyLength;
    return new Response(code, status.group(2), headers, body);
  }

  private int indexOf(String text) {
    byte[] needle = text.getBytes(StandardCharsets.US_ASCII);
    outer:
    for (int i = start; i + needle.length <= end; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (buffer[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private boolean fill() throws IOException {
    if (end == buffer.length) {
      byte[] larger = new byte[buffer.length * 2];
      System.arraycopy(buffer, start, larger, 0, end - start);
      end -= start;
      start = 0;
      buffer = larger;
    }
    int n = channel.read(ByteBuffer.wrap(buffer, end, buffer.length - end));
    if (n < 0) {
      return false;
    }
    end += n;
    return true;
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
