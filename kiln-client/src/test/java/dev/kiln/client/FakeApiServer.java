package dev.kiln.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * An HTTP/1.1 server on a real Unix socket that records every request and responds with canned
 * replies: queued one-shot replies first, then the default responder.
 */
final class FakeApiServer implements AutoCloseable {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** One request as the server parsed it; {@code connection} counts accepted connections from 1. */
  record RecordedRequest(
      int connection,
      String method,
      String target,
      String version,
      Map<String, String> headers,
      byte[] body) {
    String requestLine() {
      return method + " " + target + " " + version;
    }

    JsonNode json() {
      try {
        return MAPPER.readTree(body);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /**
   * What the server does with one request.
   *
   * @param status the status code, 0 to close the connection without responding, or -1 to send
   *     {@code body} as the raw response bytes and close
   * @param body the body, sent with Content-Length unless {@code status} is 204
   * @param headers extra header fields
   * @param closeAfter whether to close the connection after the response
   * @param delayMillis time to wait before responding
   */
  record Reply(
      int status, String body, Map<String, String> headers, boolean closeAfter, long delayMillis) {
    static Reply noContent() {
      return new Reply(204, "", Map.of(), false, 0);
    }

    static Reply json(int status, String body) {
      return new Reply(status, body, Map.of("Content-Type", "application/json"), false, 0);
    }

    static Reply fault(int status, String message) {
      return json(status, "{\"fault_message\":\"" + message + "\"}");
    }

    static Reply rawThenClose(String response) {
      return new Reply(-1, response, Map.of(), true, 0);
    }

    static Reply dropConnection() {
      return new Reply(0, "", Map.of(), true, 0);
    }

    Reply thenClose() {
      return new Reply(status, body, headers, true, delayMillis);
    }

    Reply delayed(long millis) {
      return new Reply(status, body, headers, closeAfter, millis);
    }
  }

  private final Path socketPath;
  private final ServerSocketChannel server;
  private final List<RecordedRequest> requests = new CopyOnWriteArrayList<>();
  private final List<SocketChannel> connections = new CopyOnWriteArrayList<>();
  private final Deque<Reply> queued = new ConcurrentLinkedDeque<>();
  private final AtomicInteger accepted = new AtomicInteger();
  private volatile Function<RecordedRequest, Reply> responder = request -> Reply.noContent();

  FakeApiServer(Path socketPath) throws IOException {
    this.socketPath = socketPath;
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socketPath));
    Thread.ofVirtual().name("fake-api-accept").start(this::acceptLoop);
  }

  Path socketPath() {
    return socketPath;
  }

  /** Sets the reply for requests that find no queued reply. */
  void respondWith(Function<RecordedRequest, Reply> responder) {
    this.responder = responder;
  }

  /** Queues replies for the next requests, in order. */
  void enqueue(Reply... replies) {
    queued.addAll(List.of(replies));
  }

  List<RecordedRequest> requests() {
    return new ArrayList<>(requests);
  }

  RecordedRequest lastRequest() {
    return requests.getLast();
  }

  void clearRequests() {
    requests.clear();
  }

  int acceptedConnections() {
    return accepted.get();
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (SocketChannel connection : connections) {
      connection.close();
    }
  }

  private void acceptLoop() {
    while (server.isOpen()) {
      try {
        SocketChannel connection = server.accept();
        connections.add(connection);
        int id = accepted.incrementAndGet();
        Thread.ofVirtual().name("fake-api-conn-" + id).start(() -> serve(connection, id));
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(SocketChannel connection, int id) {
    try (connection) {
      InputStream in = new BufferedInputStream(Channels.newInputStream(connection));
      OutputStream out = Channels.newOutputStream(connection);
      while (true) {
        RecordedRequest request = readRequest(in, id);
        if (request == null) {
          return;
        }
        requests.add(request);
        Reply reply = queued.poll();
        if (reply == null) {
          reply = responder.apply(request);
        }
        if (reply.delayMillis() > 0) {
          Thread.sleep(reply.delayMillis());
        }
        if (reply.status() == 0) {
          return;
        }
        out.write(encode(reply));
        out.flush();
        if (reply.closeAfter()) {
          return;
        }
      }
    } catch (IOException | InterruptedException e) {
      // The client went away or the test closed the server: this connection is done.
    }
  }

  private static RecordedRequest readRequest(InputStream in, int connection) throws IOException {
    String requestLine = readLine(in);
    if (requestLine == null) {
      return null;
    }
    String[] parts = requestLine.split(" ");
    if (parts.length != 3) {
      throw new IOException("invalid request line: " + requestLine);
    }
    Map<String, String> headers = new LinkedHashMap<>();
    String line;
    while ((line = readLine(in)) != null && !line.isEmpty()) {
      int colon = line.indexOf(':');
      headers.put(
          line.substring(0, colon).toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
    }
    int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
    byte[] body = in.readNBytes(length);
    return new RecordedRequest(connection, parts[0], parts[1], parts[2], headers, body);
  }

  /** Reads one CRLF-terminated line, or returns null at the end of the stream. */
  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) >= 0) {
      if (b == '\n') {
        byte[] bytes = line.toByteArray();
        int end =
            bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        return new String(bytes, 0, end, StandardCharsets.US_ASCII);
      }
      line.write(b);
    }
    return null;
  }

  private static byte[] encode(Reply reply) {
    byte[] body = reply.body().getBytes(StandardCharsets.UTF_8);
    if (reply.status() < 0) {
      return body;
    }
    StringBuilder head = new StringBuilder();
    head.append("HTTP/1.1 ").append(reply.status()).append(" Canned\r\n");
    reply
        .headers()
        .forEach((name, value) -> head.append(name).append(": ").append(value).append("\r\n"));
    if (reply.status() != 204) {
      head.append("Content-Length: ").append(body.length).append("\r\n");
    }
    head.append("\r\n");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.writeBytes(head.toString().getBytes(StandardCharsets.US_ASCII));
    if (reply.status() != 204) {
      bytes.writeBytes(body);
    }
    return bytes.toByteArray();
  }
}
