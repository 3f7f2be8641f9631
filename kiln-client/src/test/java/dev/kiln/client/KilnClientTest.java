package dev.kiln.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.client.FakeApiServer.RecordedRequest;
import dev.kiln.client.FakeApiServer.Reply;
import dev.kiln.client.model.BootSource;
import dev.kiln.client.model.Drive;
import dev.kiln.client.model.InstanceInfo;
import dev.kiln.client.model.MachineConfiguration;
import java.io.IOException;
import java.net.ProtocolException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KilnClientTest {
  @TempDir Path dir;
  private FakeApiServer server;
  private KilnClient client;

  @BeforeEach
  void startServer() throws IOException {
    server = new FakeApiServer(dir.resolve("api.sock"));
    client = new KilnClient(server.socketPath(), Duration.ofSeconds(5));
  }

  @AfterEach
  void stopServer() throws IOException {
    client.close();
    server.close();
  }

  @Test
  void putSendsRequestLineHeadersAndBody() throws IOException {
    client.putGuestBootSource(BootSource.of("/guest/vmlinux", "console=ttyS0"));

    RecordedRequest request = server.lastRequest();
    assertThat(request.requestLine()).isEqualTo("PUT /boot-source HTTP/1.1");
    assertThat(request.headers()).containsEntry("host", "localhost");
    assertThat(request.headers()).containsEntry("content-type", "application/json");
    assertThat(request.headers()).containsEntry("accept", "application/json");
    assertThat(request.headers())
        .containsEntry("content-length", Integer.toString(request.body().length));
    assertThat(new String(request.body(), StandardCharsets.UTF_8))
        .isEqualTo("{\"kernel_image_path\":\"/guest/vmlinux\",\"boot_args\":\"console=ttyS0\"}");
  }

  @Test
  void getSendsNoBody() throws IOException {
    server.respondWith(request -> Reply.json(200, "{\"vcpu_count\":2,\"mem_size_mib\":256}"));

    client.getMachineConfiguration();

    RecordedRequest request = server.lastRequest();
    assertThat(request.requestLine()).isEqualTo("GET /machine-config HTTP/1.1");
    assertThat(request.headers()).doesNotContainKey("content-length");
    assertThat(request.headers()).doesNotContainKey("content-type");
    assertThat(request.body()).isEmpty();
  }

  @Test
  void patchWithoutBodySendsZeroLength() throws IOException {
    client.stopBalloonHinting();

    RecordedRequest request = server.lastRequest();
    assertThat(request.requestLine()).isEqualTo("PATCH /balloon/hinting/stop HTTP/1.1");
    assertThat(request.headers()).containsEntry("content-length", "0");
    assertThat(request.headers()).doesNotContainKey("content-type");
  }

  @Test
  void getDecodesOkBody() throws IOException {
    server.respondWith(
        request ->
            Reply.json(
                200,
                "{\"app_name\":\"Kiln\",\"id\":\"vm-1\",\"state\":\"Not started\","
                    + "\"vmm_version\":\"0.1.0\"}"));

    InstanceInfo info = client.describeInstance();

    assertThat(info)
        .isEqualTo(new InstanceInfo("Kiln", "vm-1", InstanceInfo.State.NOT_STARTED, "0.1.0"));
  }

  @Test
  void getIgnoresUnknownFieldsAndEnumValues() throws IOException {
    server.respondWith(
        request ->
            Reply.json(
                200,
                "{\"app_name\":\"Kiln\",\"id\":\"vm-1\",\"state\":\"Hibernating\","
                    + "\"vmm_version\":\"9.0\",\"new_field\":{\"a\":1}}"));

    InstanceInfo info = client.describeInstance();

    assertThat(info.id()).isEqualTo("vm-1");
    assertThat(info.state()).isNull();
  }

  @Test
  void nullFieldsAreOmitted() throws IOException {
    client.putMachineConfiguration(MachineConfiguration.of(1, 128));

    assertThat(new String(server.lastRequest().body(), StandardCharsets.UTF_8))
        .isEqualTo("{\"vcpu_count\":1,\"mem_size_mib\":128}");
  }

  @Test
  void noContentReturnsWithoutBody() throws IOException {
    server.enqueue(Reply.noContent(), Reply.noContent());

    client.startInstance();
    client.pause();

    assertThat(server.requests()).hasSize(2);
  }

  @Test
  void faultMessageBecomesApiException() {
    server.enqueue(Reply.fault(400, "The kernel file cannot be opened."));

    assertThatThrownBy(() -> client.putGuestBootSource(BootSource.of("/missing")))
        .isInstanceOfSatisfying(
            KilnApiException.class,
            e -> {
              assertThat(e.statusCode()).isEqualTo(400);
              assertThat(e.faultMessage()).isEqualTo("The kernel file cannot be opened.");
              assertThat(e.method()).isEqualTo("PUT");
              assertThat(e.path()).isEqualTo("/boot-source");
            })
        .hasMessage("PUT /boot-source failed with status 400: The kernel file cannot be opened.");
  }

  @Test
  void errorOnGetBecomesApiException() {
    server.enqueue(Reply.fault(404, "The MMDS data store is not initialized."));

    assertThatThrownBy(() -> client.getMmds())
        .isInstanceOfSatisfying(
            KilnApiException.class, e -> assertThat(e.statusCode()).isEqualTo(404));
  }

  @Test
  void errorWithoutJsonKeepsRawBody() {
    server.enqueue(new Reply(500, "internal failure", Map.of(), false, 0));

    assertThatThrownBy(() -> client.flushMetrics())
        .isInstanceOfSatisfying(
            KilnApiException.class,
            e -> assertThat(e.faultMessage()).isEqualTo("internal failure"));
  }

  @Test
  void connectionIsKeptAlive() throws IOException {
    for (int i = 0; i < 5; i++) {
      client.putGuestDriveByID("rootfs", Drive.virtioBlock("rootfs", "/r.ext4", true, false));
    }

    assertThat(server.acceptedConnections()).isEqualTo(1);
    assertThat(server.requests()).extracting(RecordedRequest::connection).containsOnly(1);
  }

  @Test
  void connectionIsKeptAliveAfterError() throws IOException {
    server.enqueue(Reply.fault(400, "bad"));

    assertThatThrownBy(() -> client.startInstance()).isInstanceOf(KilnApiException.class);
    client.startInstance();

    assertThat(server.acceptedConnections()).isEqualTo(1);
  }

  @Test
  void reconnectsAfterServerClosedIdleConnection() throws IOException {
    server.enqueue(Reply.noContent().thenClose());

    client.startInstance();
    client.pause();

    assertThat(server.acceptedConnections()).isEqualTo(2);
    assertThat(server.lastRequest().requestLine()).isEqualTo("PATCH /vm HTTP/1.1");
  }

  @Test
  void resendsOnceWhenReusedConnectionDrops() throws IOException {
    client.startInstance();
    server.enqueue(Reply.dropConnection());

    client.pause();

    List<RecordedRequest> requests = server.requests();
    assertThat(requests).hasSize(3);
    assertThat(requests.get(1).requestLine()).isEqualTo("PATCH /vm HTTP/1.1");
    assertThat(requests.get(2).requestLine()).isEqualTo("PATCH /vm HTTP/1.1");
    assertThat(requests.get(2).connection()).isEqualTo(2);
  }

  @Test
  void doesNotResendTwice() throws IOException {
    client.startInstance();
    server.enqueue(Reply.dropConnection(), Reply.dropConnection());

    assertThatThrownBy(() -> client.pause())
        .isInstanceOf(IOException.class)
        .isNotInstanceOf(KilnApiException.class)
        .hasMessageContaining("closed the connection before responding to PATCH /vm");
    assertThat(server.requests()).hasSize(3);
  }

  @Test
  void doesNotResendOnFreshConnection() {
    server.enqueue(Reply.dropConnection());

    assertThatThrownBy(() -> client.startInstance())
        .isInstanceOf(IOException.class)
        .hasMessageContaining("closed the connection before responding to PUT /actions");
    assertThat(server.requests()).hasSize(1);
  }

  @Test
  void readsBodyUntilCloseWithoutContentLength() throws IOException {
    server.enqueue(
        Reply.rawThenClose(
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"firecracker_version\":\"1.12.0\"}"));

    assertThat(client.getVersion().firecrackerVersion()).isEqualTo("1.12.0");
    client.startInstance();
    assertThat(server.acceptedConnections()).isEqualTo(2);
  }

  @Test
  void rejectsInvalidStatusLine() {
    server.enqueue(Reply.rawThenClose("SSH-2.0-OpenSSH\r\n\r\n"));

    assertThatThrownBy(() -> client.describeInstance())
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("Invalid HTTP status line");
  }

  @Test
  void rejectsTruncatedBody() {
    server.enqueue(Reply.rawThenClose("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"id\":"));

    assertThatThrownBy(() -> client.describeInstance())
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("after 6 of 50 body bytes");
  }

  @Test
  void callTimesOut() throws IOException {
    KilnClient impatient = new KilnClient(server.socketPath(), Duration.ofMillis(200));
    server.enqueue(Reply.noContent().delayed(3_000));

    long start = System.nanoTime();
    assertThatThrownBy(impatient::startInstance)
        .isInstanceOf(SocketTimeoutException.class)
        .hasMessageContaining("Timed out reading a response header");
    long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
    assertThat(elapsedMillis).isBetween(150L, 2_000L);

    impatient.pause();
    assertThat(server.lastRequest().requestLine()).isEqualTo("PATCH /vm HTTP/1.1");
    impatient.close();
  }

  @Test
  void pathParametersArePercentEncoded() throws IOException {
    client.putGuestDriveByID("disk one/../é", Drive.virtioBlock("x", "/x", false, true));

    assertThat(server.lastRequest().target()).isEqualTo("/drives/disk%20one%2F..%2F%C3%A9");
  }

  @Test
  void callsFromManyThreadsAreSerialized() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> calls = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        String id = "drive" + i;
        calls.add(
            pool.submit(
                () -> {
                  client.putGuestDriveByID(id, Drive.virtioBlock(id, "/d", false, false));
                  return null;
                }));
      }
      for (Future<?> call : calls) {
        call.get();
      }
    } finally {
      pool.shutdown();
    }

    assertThat(server.requests()).hasSize(40);
    assertThat(server.acceptedConnections()).isEqualTo(1);
  }

  @Test
  void missingSocketFailsToConnect() {
    KilnClient nowhere = new KilnClient(dir.resolve("absent.sock"));

    assertThatThrownBy(nowhere::describeInstance)
        .isInstanceOf(IOException.class)
        .isNotInstanceOf(KilnApiException.class);
  }

  @Test
  void waitForSocketReturnsOnceServerListens() throws Exception {
    Path later = dir.resolve("later.sock");
    AtomicReference<FakeApiServer> lateServer = new AtomicReference<>();
    Thread starter =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    Thread.sleep(300);
                    lateServer.set(new FakeApiServer(later));
                  } catch (IOException | InterruptedException e) {
                    throw new IllegalStateException(e);
                  }
                });

    KilnClient.waitForSocket(later, Duration.ofSeconds(5));

    starter.join();
    try (FakeApiServer started = lateServer.get();
        KilnClient late = new KilnClient(later)) {
      late.startInstance();
      assertThat(started.lastRequest().requestLine()).isEqualTo("PUT /actions HTTP/1.1");
    }
  }

  @Test
  void waitForSocketTimesOut() {
    assertThatThrownBy(
            () -> KilnClient.waitForSocket(dir.resolve("never.sock"), Duration.ofMillis(100)))
        .isInstanceOf(SocketTimeoutException.class)
        .hasMessageContaining("never.sock");
  }

  @Test
  void rejectsNonPositiveTimeout() {
    assertThatThrownBy(() -> new KilnClient(dir.resolve("x.sock"), Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
