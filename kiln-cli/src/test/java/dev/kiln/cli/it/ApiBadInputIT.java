package dev.kiln.cli.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.client.KilnApiException;
import dev.kiln.client.KilnClient;
import dev.kiln.client.model.InstanceInfo;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sends the API server of a real Kiln process bad and demanding input before any VM starts:
 * malformed requests through curl, a stalled client, 100 concurrent clients. After each case the
 * server must still respond to {@code GET /}. Also checks how Kiln starts and stops around its
 * socket.
 */
class ApiBadInputIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration SOCKET_WAIT = Duration.ofSeconds(60);

  /** Kiln's default --http-api-max-payload-size, in bytes. */
  private static final int DEFAULT_MAX_PAYLOAD = 51200;

  /** The maximum size of a request head that Kiln's API server reads, in bytes. */
  private static final int MAX_HEAD = 8192;

  /** How long Kiln waits for a started request to arrive whole before it responds with 408. */
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

  @TempDir static Path directory;

  private static KilnProcess kiln;
  private static Path socket;
  private static KilnClient client;

  @BeforeAll
  static void startKiln() throws Exception {
    socket = directory.resolve("api.sock");
    kiln = KilnProcess.start(directory, "--api-sock", socket.toString(), "--id", "bad-input");
    KilnClient.waitForSocket(socket, SOCKET_WAIT);
    client = new KilnClient(socket);
  }

  @AfterAll
  static void stopKiln() throws IOException {
    if (client != null) {
      client.close();
    }
    if (kiln != null) {
      kiln.close();
    }
  }

  @AfterEach
  void serverStillAnswers() throws IOException {
    InstanceInfo info = client.describeInstance();

    assertThat(info.state()).as(kiln.transcript()).isEqualTo(InstanceInfo.State.NOT_STARTED);
    assertThat(info.id()).isEqualTo("bad-input");
  }

  /** Asserts a 400 with {@code {"fault_message": string}} and returns the message. */
  private static String faultMessage(Curl.Result result) throws IOException {
    assertThat(result.status()).as(result.output()).isEqualTo(400);
    JsonNode body = JSON.readTree(result.body());
    assertThat(body.size()).as(result.output()).isEqualTo(1);
    assertThat(body.path("fault_message").isTextual()).as(result.output()).isTrue();
    return body.get("fault_message").asText();
  }

  private static Curl.Result put(String path, String body) throws Exception {
    return Curl.run(
        socket,
        "-X",
        "PUT",
        "http://localhost" + path,
        "-H",
        "Content-Type: application/json",
        "-d",
        body);
  }

  @Test
  void malformedJsonIsRejected() throws Exception {
    String message = faultMessage(put("/boot-source", "{\"kernel_image_path\": "));

    assertThat(message).containsIgnoringCase("json");
  }

  @Test
  void unknownFieldIsNamed() throws Exception {
    String message =
        faultMessage(
            put("/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpus\": 2}"));

    assertThat(message).contains("unknown field `cpus`");
  }

  @Test
  void wrongTypeIsNamed() throws Exception {
    String message =
        faultMessage(put("/machine-config", "{\"vcpu_count\": \"one\", \"mem_size_mib\": 128}"));

    assertThat(message).contains("vcpu_count");
  }

  @Test
  void wrongMethodIsRejected() throws Exception {
    String message =
        faultMessage(Curl.run(socket, "-X", "DELETE", "http://localhost/machine-config"));

    assertThat(message).contains("Invalid request method and/or path");
  }

  @Test
  void unknownPathIsRejected() throws Exception {
    String message = faultMessage(Curl.run(socket, "http://localhost/no-such-path"));

    assertThat(message).contains("Invalid request method and/or path");
  }

  @Test
  void bodyOverLimitIsRejected() throws Exception {
    Path body = directory.resolve("big.json");
    Files.writeString(body, "{\"big\": \"" + "x".repeat(DEFAULT_MAX_PAYLOAD) + "\"}");

    Curl.Result result =
        Curl.run(
            socket,
            "-X",
            "PUT",
            "http://localhost/mmds",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            "@" + body);

    assertThat(faultMessage(result)).contains("larger than the limit of " + DEFAULT_MAX_PAYLOAD);
  }

  @Test
  void clientBodyFarOverLimitGetsRejection() {
    // The client writes all 1 MiB before it reads, so the server must read past its limit first.
    ObjectNode contents = JSON.createObjectNode().put("big", "x".repeat(1 << 20));

    assertThatThrownBy(() -> client.putMmds(contents))
        .isInstanceOfSatisfying(
            KilnApiException.class,
            e -> {
              assertThat(e.statusCode()).isEqualTo(400);
              assertThat(e.faultMessage()).contains("larger than the limit");
            });
  }

  @Test
  void oversizedHeadersAreRejected() throws Exception {
    Curl.Result result =
        Curl.run(socket, "-H", "X-Padding: " + "p".repeat(MAX_HEAD), "http://localhost/");

    assertThat(faultMessage(result)).contains("longer than " + MAX_HEAD + " bytes");
  }

  @Test
  void stalledClientGets408WhileOthersAreServed() throws Exception {
    try (SocketChannel stalled = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      stalled.connect(UnixDomainSocketAddress.of(socket));
      stalled.write(
          ByteBuffer.wrap(
              "PUT /boot-source HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"kernel"
                  .getBytes(StandardCharsets.US_ASCII)));
      long startNanos = System.nanoTime();
      FutureTask<String> answer = new FutureTask<>(() -> readUntilClosed(stalled));
      Thread.ofVirtual().start(answer);

      for (int i = 0; i < 5; i++) {
        long callNanos = System.nanoTime();
        assertThat(client.describeInstance().state()).isEqualTo(InstanceInfo.State.NOT_STARTED);
        assertThat(Duration.ofNanos(System.nanoTime() - callNanos))
            .isLessThan(Duration.ofSeconds(2));
        Thread.sleep(500);
      }
      assertThat(answer.isDone()).as("no answer yet to the stalled request").isFalse();

      String response = answer.get(REQUEST_TIMEOUT.toSeconds() + 20, TimeUnit.SECONDS);
      Duration waited = Duration.ofNanos(System.nanoTime() - startNanos);
      assertThat(response).startsWith("HTTP/1.1 408 ");
      assertThat(response).contains("\"fault_message\"");
      assertThat(waited).isGreaterThanOrEqualTo(REQUEST_TIMEOUT.minusMillis(500));
    }
  }

  /** Reads everything the server sends until it closes the connection. */
  private static String readUntilClosed(SocketChannel channel) {
    StringBuilder text = new StringBuilder();
    ByteBuffer buffer = ByteBuffer.allocate(4096);
    try {
      while (channel.read(buffer) >= 0) {
        buffer.flip();
        text.append(StandardCharsets.UTF_8.decode(buffer));
        buffer.clear();
      }
    } catch (IOException e) {
      text.append("[").append(e.getMessage()).append("]");
    }
    return text.toString();
  }

  @Test
  void hundredConcurrentClientsAreServed() throws Exception {
    int clients = 100;
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<Integer>> results = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        results.add(
            pool.submit(
                () -> {
                  int answered = 0;
                  try (KilnClient own = new KilnClient(socket, Duration.ofSeconds(30))) {
                    for (int r = 0; r < 5; r++) {
                      assertThat(own.describeInstance().id()).isEqualTo("bad-input");
                      assertThat(own.getMachineConfiguration().vcpuCount()).isPositive();
                      answered += 2;
                    }
                  }
                  return answered;
                }));
      }
      for (Future<Integer> result : results) {
        assertThat(result.get(120, TimeUnit.SECONDS)).isEqualTo(10);
      }
    }
  }

  @Test
  void instanceStartWithoutBootSourceIsRejected() {
    assertThatThrownBy(client::startInstance)
        .isInstanceOfSatisfying(
            KilnApiException.class,
            e -> {
              assertThat(e.statusCode()).isEqualTo(400);
              assertThat(e.faultMessage()).contains("boot source");
            });
  }

  @Test
  void existingSocketPathIsReported(@TempDir Path own) throws Exception {
    Path existing = own.resolve("existing.sock");
    Files.writeString(existing, "not a socket");

    BootResult result;
    try (KilnProcess second = KilnProcess.start(own, "--api-sock", existing.toString())) {
      result = second.awaitExit(Duration.ofSeconds(60));
    }

    String all = BootResult.transcript(result.stdout(), result.stderr());
    assertThat(result.exitStatus()).as(all).isNotZero();
    assertThat(result.stderr()).as(all).contains(existing.toString()).contains("already exists");
    assertThat(Files.readString(existing)).isEqualTo("not a socket");
  }

  @Test
  void payloadLimitTooLargeIsReported(@TempDir Path own) throws Exception {
    BootResult result;
    try (KilnProcess second =
        KilnProcess.start(
            own,
            "--api-sock",
            own.resolve("large.sock").toString(),
            "--http-api-max-payload-size",
            "5000000000")) {
      result = second.awaitExit(Duration.ofSeconds(60));
    }

    String all = BootResult.transcript(result.stdout(), result.stderr());
    assertThat(result.exitStatus()).as(all).isNotZero();
    assertThat(result.stderr()).as(all).contains("--http-api-max-payload-size 5000000000");
  }

  @Test
  void sigtermBeforeStartExitsCleanly(@TempDir Path own) throws Exception {
    Path path = own.resolve("term.sock");
    BootResult result;
    try (KilnProcess waiting = KilnProcess.start(own, "--api-sock", path.toString())) {
      KilnClient.waitForSocket(path, SOCKET_WAIT);
      waiting.signal("TERM");
      result = waiting.awaitExit(Duration.ofSeconds(60));
    }

    String all = BootResult.transcript(result.stdout(), result.stderr());
    assertThat(result.exitStatus()).as(all).isZero();
    assertThat(Files.exists(path)).as("socket file removed").isFalse();
  }
}
