package dev.kiln.api.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs one {@link HttpConnection} on the server end of a connected pair of Unix sockets. */
class HttpConnectionTest {
  private static final Duration WAIT = Duration.ofSeconds(5);
  private static final int MAX_HEAD = 256;
  private static final int MAX_PAYLOAD = 100;
  private static final long TIMEOUT_MILLIS = 300;

  @TempDir Path directory;

  private final List<HttpRequest> received = new CopyOnWriteArrayList<>();
  private ScheduledExecutorService timer;
  private WireClient client;
  private Thread serving;

  /** Echoes the method, path and body length as JSON. */
  private HttpResponse echo(HttpRequest request) {
    received.add(request);
    return HttpResponse.ok(
        String.format(
            "{\"method\":\"%s\",\"path\":\"%s\",\"length\":%d}",
            request.method(), request.path(), request.body().length));
  }

  @BeforeEach
  void connect() throws IOException {
    timer = Executors.newSingleThreadScheduledExecutor();
    UnixDomainSocketAddress address = UnixDomainSocketAddress.of(directory.resolve("api.sock"));
    try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      listener.bind(address);
      SocketChannel clientEnd = SocketChannel.open(address);
      SocketChannel serverEnd = listener.accept();
      client = new WireClient(clientEnd);
      HttpConnection connection =
          new HttpConnection(
              serverEnd,
              this::echo,
              new HttpConnection.Limits(MAX_HEAD, MAX_PAYLOAD, TIMEOUT_MILLIS),
              timer);
      serving = Thread.ofVirtual().start(connection);
    }
  }

  @AfterEach
  void disconnect() throws Exception {
    client.close();
    serving.join(WAIT);
    timer.shutdownNow();
    assertThat(serving.isAlive()).as("the connection thread ended").isFalse();
  }

  private static String put(String path, String body) {
    return "PUT "
        + path
        + " HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: "
        + body.getBytes(StandardCharsets.UTF_8).length
        + "\r\n\r\n"
        + body;
  }

  @Test
  void keepAliveServesSequentialRequests() throws Exception {
    for (int i = 0; i < 3; i++) {
      client.send(put("/drives/d" + i, "{\"n\":" + i + "}"));
      WireClient.Response response = client.read(WAIT);

      assertThat(response.status()).isEqualTo(200);
      assertThat(response.header("connection")).isEqualTo("keep-alive");
      assertThat(response.body()).contains("\"path\":\"/drives/d" + i + "\"");
    }
    assertThat(received).hasSize(3);
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrder() throws Exception {
    client.send(
        put("/a", "{}")
            + "GET /b HTTP/1.1\r\n\r\n"
            + put("/c", "{\"x\":1}")
            + "GET /d HTTP/1.1\r\nConnection: close\r\n\r\n");

    assertThat(client.read(WAIT).body()).contains("/a");
    assertThat(client.read(WAIT).body()).contains("/b");
    assertThat(client.read(WAIT).body()).contains("/c").contains("\"length\":7");
    WireClient.Response last = client.read(WAIT);
    assertThat(last.body()).contains("/d");
    assertThat(last.closes()).isTrue();
    assertThat(client.awaitClose(WAIT)).isTrue();
  }

  @Test
  void pipelinedRequestsSentByteByByteAreAnswered() throws Exception {
    byte[] two =
        (put("/one", "{\"a\":true}") + put("/two", "[]")).getBytes(StandardCharsets.US_ASCII);
    for (byte b : two) {
      client.send(new byte[] {b});
    }

    assertThat(client.read(WAIT).body()).contains("/one");
    assertThat(client.read(WAIT).body()).contains("/two");
  }

  @Test
  void binaryRequestLineIsRejectedAtOnce() throws Exception {
    // No line end ever comes; the answer must not wait for the request timeout.
    client.send(new byte[] {'G', 'E', 'T', 0x00, 0x01, (byte) 0xff});

    WireClient.Response response = client.read(WAIT);
    assertThat(response.status()).isEqualTo(400);
    assertThat(response.body()).contains("control byte 0x00");
  }

  @Test
  void bareLineFeedRequestIsServed() throws Exception {
    client.send("GET /lf HTTP/1.1\nHost: x\n\n");

    assertThat(client.read(WAIT).status()).isEqualTo(200);
  }

  @Test
  void bodyBytesReachHandlerUnchanged() throws Exception {
    byte[] body = new byte[MAX_PAYLOAD];
    for (int i = 0; i < body.length; i++) {
      body[i] = (byte) (i * 7);
    }
    client.send("PUT /raw HTTP/1.1\r\nContent-Length: " + body.length + "\r\n\r\n");
    client.send(body);

    assertThat(client.read(WAIT).status()).isEqualTo(200);
    assertThat(received.getFirst().body()).isEqualTo(body);
  }

  @Test
  void connectionCloseEndsConnection() throws Exception {
    client.send("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");

    WireClient.Response response = client.read(WAIT);
    assertThat(response.status()).isEqualTo(200);
    assertThat(response.closes()).isTrue();
    assertThat(client.awaitClose(WAIT)).isTrue();
  }

  @Test
  void http10ClosesAfterOneResponse() throws Exception {
    client.send("GET / HTTP/1.0\r\n\r\n");

    assertThat(client.read(WAIT).closes()).isTrue();
    assertThat(client.awaitClose(WAIT)).isTrue();
  }

  @Test
  void expectContinueGetsInterimResponse() throws Exception {
    client.send("PUT /boot-source HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");

    WireClient.Response interim = client.read(WAIT);
    assertThat(interim.status()).isEqualTo(100);
    assertThat(received).isEmpty();

    client.send("{}");
    WireClient.Response response = client.read(WAIT);
    assertThat(response.status()).isEqualTo(200);
    assertThat(response.body()).contains("\"length\":2");
  }

  @Test
  void expectContinueWithBodySentIsNotInterrupted() throws Exception {
    client.send("PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}");

    assertThat(client.read(WAIT).status()).isEqualTo(200);
  }

  @Test
  void expectContinueOverLimitGetsFinalRejection() throws Exception {
    client.send(
        "PUT /mmds HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: "
            + (MAX_PAYLOAD + 1)
            + "\r\n\r\n");

    WireClient.Response response = client.read(WAIT);
    assertThat(response.status()).isEqualTo(400);
    assertThat(response.body()).contains("fault_message").contains("larger than the limit");
    assertThat(received).isEmpty();
    assertThat(client.awaitClose(WAIT)).isTrue();
  }

  @Test
  void bodyAtLimitIsAccepted() throws Exception {
    client.send(put("/mmds", "\"" + "x".repeat(MAX_PAYLOAD - 2) + "\""));

    assertThat(client.read(WAIT).status()).isEqualTo(200);
  }

  @Test
  void bodyOverLimitIsRejectedAndClosed() throws Exception {
    client.send(put("/mmds", "\"" + "x".repeat(MAX_PAYLOAD - 1) + "\""));

    WireClient.Response response = client.read(WAIT);
    assertThat(response.status()).isEqualTo(400);
    assertThat(response.body())
        .startsWith("{\"fault_message\":")
        .contains(Integer.toString(MAX_PAYLOAD + 1))
        .contains("--http-api-max-payload-size");
    assertThat(response.closes()).isTrue();
    assertThat(client.awaitClose(WAIT)).isTrue();
    assertThat(received).isEmpty();
  }

  @Test
  void bodyFarOverLimitIsReadBeforeRejection() throws Exception {
    // Most clients write the whole request before they read. A server that closed without reading
    // the rest would leave them a broken pipe in place of the 400.
    byte[] body = new byte[4 << 20];
    client.send("PUT /mmds HTTP/1.1\r\nContent-Length: " + body.length + "\r\n\r\n");
    assertTimeoutPreemptively(WAIT, () -> client.send(body));

    WireClient.Response response = client.read(WAIT);
    assertThat(response.status()).isEqualTo(400);
    assertThat(response.body()).contains("larger than the limit");
    assertThat(client.awaitClose(WAIT)).isTrue();
  }

  @Test
  void limitsRejectPayloadTooLargeForArray() {
    long tooLarge = HttpConnection.Limits.MAX_PAYLOAD_BYTES + 1;

    assertThatThrownBy(() -> new HttpConnection.Limits(8192, tooLarge, 1000))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(Long.toString(tooLarge));
    assertThatThrownBy(() -> new HttpConnection.Limits(8192, 0, 1000))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new HttpConnection.Limits(0, 1, 1000))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new HttpConnection.Limits(1, 1, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void headAtLimitIsAccepted() throws Exception {
    String line = "GET / HTTP/1.1\r\nX-Pad: ";
    String head = line + "p".repeat(MAX_HEAD - line.length());
    assertThat(head).hasSize(MAX_HEAD);
    client.send(head + "\r\n\r\n");

    assertThat(client.read(WAIT).status()).isEqualTo(200);
  }

  @Test
  void headOverLimitIsRejectedAndClosed() throws Exception {
    String line = "GET / HTTP/1.1\r\nX-Pad: ";
    client.send(line + "p".repeat(MAX_HEAD + 1 - line.length()) + "\r\n\r\n");

    WireClient.Response response = client.read(WAIT);
    assertThat(response.status()).isEqualTo(400);
    assertThat(response.body()).contains("longer than " + MAX_HEAD + " bytes");
    assertThat(client.awaitClose(WAIT)).isTrue();
    assertThat(received).isEmpty();
  }

  @Test
  void endlessHeadIsRejectedBeforeItEnds() throws Exception {
    client.send("GET / HTTP/1.1\r\nX-Pad: " + "p".repeat(4 * MAX_HEAD));

    assertThat(client.read(WAIT).status()).isEqualTo(400);
  }

  @Test
  void malformedRequestIsRejectedAndClosed() throws Exception {
    client.send("BREW /pot HTCPCP/1.0\r\n\r\n");

    WireClient.Response response = client.read(WAIT);
    assertThat(response.status()).isEqualTo(400);
    assertThat(response.body()).contains("HTCPCP/1.0");
    assertThat(client.awaitClose(WAIT)).isTrue();
  }

  @Test
  void chunkedRequestIsRejected() throws Exception {
    client.send("PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");

    WireClient.Response response = client.read(WAIT);
    assertThat(response.status()).isEqualTo(400);
    assertThat(response.body()).contains("Transfer-Encoding");
  }

  @Test
  void endOfStreamInsideHeadClosesSilently() throws Exception {
    client.send("GET / HTTP/1.1\r\nHost:");
    client.shutdownOutput();

    assertThat(client.awaitClose(WAIT)).isTrue();
    assertThat(received).isEmpty();
  }

  @Test
  void endOfStreamInsideBodyClosesSilently() throws Exception {
    client.send("PUT /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n{\"a\"");
    client.shutdownOutput();

    assertThat(client.awaitClose(WAIT)).isTrue();
    assertThat(received).isEmpty();
  }

  @Test
  void endOfStreamBetweenRequestsClosesSilently() throws Exception {
    client.send("GET / HTTP/1.1\r\n\r\n");
    assertThat(client.read(WAIT).status()).isEqualTo(200);
    client.shutdownOutput();

    assertThat(client.awaitClose(WAIT)).isTrue();
  }

  @Test
  void stalledHeadTimesOutWith408() throws Exception {
    client.send("GET / HTTP/1.1\r\nHo");
    long startNanos = System.nanoTime();

    WireClient.Response response = client.read(WAIT);
    long elapsedMillis = (System.nanoTime() - startNanos) / 1_000_000;
    assertThat(response.status()).isEqualTo(408);
    assertThat(response.body()).startsWith("{\"fault_message\":");
    assertThat(response.closes()).isTrue();
    assertThat(elapsedMillis).isGreaterThanOrEqualTo(TIMEOUT_MILLIS - 50);
    assertThat(client.awaitClose(WAIT)).isTrue();
  }

  @Test
  void stalledBodyTimesOutWith408() throws Exception {
    client.send("PUT /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n{");

    assertThat(client.read(WAIT).status()).isEqualTo(408);
    assertThat(client.awaitClose(WAIT)).isTrue();
    assertThat(received).isEmpty();
  }

  @Test
  void idleConnectionIsNotTimedOut() throws Exception {
    Thread.sleep(3 * TIMEOUT_MILLIS);
    client.send("GET / HTTP/1.1\r\n\r\n");

    assertThat(client.read(WAIT).status()).isEqualTo(200);
  }
}
