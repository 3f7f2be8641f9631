package dev.kiln.api.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HttpServerTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final HttpConnection.Limits LIMITS = new HttpConnection.Limits(8192, 51200, 1_000);

  @TempDir Path directory;

  private final AtomicInteger served = new AtomicInteger();

  private HttpResponse count(HttpRequest request) {
    int n = served.incrementAndGet();
    return HttpResponse.ok("{\"path\":\"" + request.path() + "\",\"n\":" + n + "}");
  }

  @Test
  void existingSocketPathIsRejected() throws Exception {
    Path path = directory.resolve("api.sock");
    Files.writeString(path, "left over");

    assertThatThrownBy(() -> HttpServer.start(path, this::count, LIMITS))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(path.toString())
        .hasMessageContaining("already exists");
    assertThat(Files.readString(path)).isEqualTo("left over");
  }

  @Test
  void danglingSymlinkAtSocketPathIsRejected() throws Exception {
    Path path = directory.resolve("api.sock");
    Files.createSymbolicLink(path, directory.resolve("missing"));

    assertThatThrownBy(() -> HttpServer.start(path, this::count, LIMITS))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("already exists");
  }

  @Test
  void missingDirectoryIsReportedWithPath() {
    Path path = directory.resolve("no/such/dir/api.sock");

    assertThatThrownBy(() -> HttpServer.start(path, this::count, LIMITS))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(path.toString());
  }

  @Test
  void secondServerOnSamePathIsRejected() throws Exception {
    Path path = directory.resolve("api.sock");
    try (HttpServer first = HttpServer.start(path, this::count, LIMITS)) {
      assertThatThrownBy(() -> HttpServer.start(path, this::count, LIMITS))
          .isInstanceOf(IOException.class);

      try (WireClient client = WireClient.connect(path)) {
        client.send("GET / HTTP/1.1\r\n\r\n");
        assertThat(client.read(WAIT).status()).isEqualTo(200);
      }
    }
  }

  @Test
  void closeRemovesSocketFile() throws Exception {
    Path path = directory.resolve("api.sock");
    HttpServer server = HttpServer.start(path, this::count, LIMITS);
    assertThat(Files.exists(path)).isTrue();
    assertThat(server.path()).isEqualTo(path);

    server.close();

    assertThat(Files.exists(path)).isFalse();
  }

  @Test
  void closeEndsOpenConnections() throws Exception {
    Path path = directory.resolve("api.sock");
    HttpServer server = HttpServer.start(path, this::count, LIMITS);
    try (WireClient idle = WireClient.connect(path)) {
      idle.send("GET / HTTP/1.1\r\n\r\n");
      assertThat(idle.read(WAIT).status()).isEqualTo(200);

      server.close();

      assertThat(idle.awaitClose(WAIT)).isTrue();
    }
  }

  @Test
  void stalledClientDoesNotBlockOthers() throws Exception {
    Path path = directory.resolve("api.sock");
    try (HttpServer server = HttpServer.start(path, this::count, LIMITS);
        WireClient stalled = WireClient.connect(path);
        WireClient other = WireClient.connect(path)) {
      stalled.send("PUT /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n{");

      other.send("GET /other HTTP/1.1\r\n\r\n");
      assertThat(other.read(WAIT).status()).isEqualTo(200);

      assertThat(stalled.read(WAIT).status()).isEqualTo(408);
    }
  }

  @Test
  void hundredConcurrentClientsAreAllServed() throws Exception {
    int clients = 100;
    int requestsEach = 5;
    Path path = directory.resolve("api.sock");
    CountDownLatch allConnected = new CountDownLatch(clients);
    try (HttpServer server = HttpServer.start(path, this::count, LIMITS);
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<List<Integer>>> results = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        int clientNumber = c;
        results.add(
            pool.submit(
                () -> {
                  try (WireClient client = WireClient.connect(path)) {
                    allConnected.countDown();
                    allConnected.await();
                    List<Integer> statuses = new ArrayList<>();
                    for (int r = 0; r < requestsEach; r++) {
                      String target = "/c" + clientNumber + "/r" + r;
                      client.send("GET " + target + " HTTP/1.1\r\n\r\n");
                      WireClient.Response response = client.read(WAIT);
                      assertThat(response.body()).contains("\"path\":\"" + target + "\"");
                      statuses.add(response.status());
                    }
                    return statuses;
                  }
                }));
      }
      for (Future<List<Integer>> result : results) {
        assertThat(result.get(30, TimeUnit.SECONDS)).containsOnly(200).hasSize(requestsEach);
      }
    }
    assertThat(served.get()).isEqualTo(clients * requestsEach);
    assertThat(Files.exists(path)).isFalse();
  }
}
