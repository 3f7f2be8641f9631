package dev.kiln.api.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Feeds random and mutated request bytes to {@link RequestHead#parse} and through a live {@link
 * HttpConnection}: parsing fails only with {@link HttpException}, and the connection responds to
 * every input with well-formed responses and then ends, never hanging.
 */
class HttpFuzzTest {
  /** Valid requests that the mutations start from. */
  private static final List<String> SEEDS =
      List.of(
          "GET / HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n",
          "PUT /boot-source HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 36\r\n"
              + "\r\n{\"kernel_image_path\": \"/vmlinux.bin\"}",
          "PUT /actions HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 33\r\n\r\n"
              + "{\"action_type\": \"InstanceStart\"}",
          "PATCH /vm HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 18\r\n\r\n"
              + "{\"state\":\"Paused\"}",
          "GET /machine-config?x=1 HTTP/1.1\nConnection: close\n\n",
          "PUT /mmds HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");

  private static final int MAX_HEAD = 512;
  private static final Duration WAIT = Duration.ofSeconds(10);

  private static Path directory;
  private static ScheduledExecutorService timer;

  @BeforeContainer
  static void setUp() throws IOException {
    directory = Files.createTempDirectory("kiln-http-fuzz");
    timer = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterContainer
  static void tearDown() throws IOException {
    timer.shutdownNow();
    Files.deleteIfExists(directory.resolve("fuzz.sock"));
    Files.deleteIfExists(directory);
  }

  @Provide
  Arbitrary<byte[]> randomBytes() {
    return Arbitraries.bytes().array(byte[].class).ofMaxSize(600);
  }

  /**
   * Generates seed requests with up to eight byte flips, insertions, deletions and duplications.
   */
  @Provide
  Arbitrary<byte[]> mutatedRequests() {
    Arbitrary<byte[]> seed =
        Arbitraries.of(SEEDS).map(s -> s.getBytes(StandardCharsets.ISO_8859_1));
    Arbitrary<List<int[]>> mutations =
        Combinators.combine(
                Arbitraries.integers().between(0, 3),
                Arbitraries.integers().between(0, 10_000),
                Arbitraries.integers().between(0, 255))
            .as((kind, position, value) -> new int[] {kind, position, value})
            .list()
            .ofMaxSize(8);
    Arbitrary<Integer> copies = Arbitraries.integers().between(1, 3);
    return Combinators.combine(seed, mutations, copies)
        .as(
            (bytes, list, n) -> {
              byte[] mutated = bytes;
              for (int[] m : list) {
                mutated = mutate(mutated, m[0], m[1], m[2]);
              }
              // Pipelined copies reach the parser at an offset inside the buffer.
              byte[] repeated = new byte[mutated.length * n];
              for (int i = 0; i < n; i++) {
                System.arraycopy(mutated, 0, repeated, i * mutated.length, mutated.length);
              }
              return repeated;
            });
  }

  private static byte[] mutate(byte[] bytes, int kind, int position, int value) {
    if (bytes.length == 0) {
      return new byte[] {(byte) value};
    }
    int at = position % bytes.length;
    byte[] out;
    switch (kind) {
      case 0 -> {
        out = bytes.clone();
        out[at] = (byte) value;
      }
      case 1 -> {
        out = new byte[bytes.length + 1];
        System.arraycopy(bytes, 0, out, 0, at);
        // Line ends are inserted more often than other bytes, because they split the head.
        byte inserted = (byte) value;
        if (value % 4 == 0) {
          inserted = '\n';
        } else if (value % 4 == 1) {
          inserted = '\r';
        }
        out[at] = inserted;
        System.arraycopy(bytes, at, out, at + 1, bytes.length - at);
      }
      case 2 -> {
        out = new byte[bytes.length - 1];
        System.arraycopy(bytes, 0, out, 0, at);
        System.arraycopy(bytes, at + 1, out, at, bytes.length - at - 1);
      }
      default -> {
        int length = Math.min(value % 16 + 1, bytes.length - at);
        out = new byte[bytes.length + length];
        System.arraycopy(bytes, 0, out, 0, at + length);
        System.arraycopy(bytes, at, out, at + length, bytes.length - at);
      }
    }
    return out;
  }

  private static void assertParsesOrRejects(byte[] bytes) {
    int offset = bytes.length == 0 ? 0 : bytes[0] & 0x0f;
    offset = Math.min(offset, bytes.length);
    try {
      RequestHead head = RequestHead.parse(bytes, offset, bytes.length - offset);
      head.wantsClose();
      head.expectsContinue();
      head.contentLength();
      assertThat(head.path()).startsWith("/");
    } catch (HttpException e) {
      assertThat(e.status()).isEqualTo(400);
      assertThat(e.getMessage()).isNotBlank();
    }
  }

  @Property(tries = 3000)
  void randomBytesParseOrRejectCleanly(@ForAll("randomBytes") byte[] bytes) {
    assertParsesOrRejects(bytes);
  }

  @Property(tries = 3000)
  void mutatedHeadsParseOrRejectCleanly(@ForAll("mutatedRequests") byte[] bytes) {
    assertParsesOrRejects(bytes);
  }

  @Property(tries = 300)
  void connectionAnswersRandomBytes(@ForAll("randomBytes") byte[] bytes) throws Exception {
    assertConnectionAnswers(bytes);
  }

  @Property(tries = 500)
  void connectionAnswersMutatedRequests(@ForAll("mutatedRequests") byte[] bytes) throws Exception {
    assertConnectionAnswers(bytes);
  }

  /**
   * Sends {@code bytes} and ends the client's output; every response must be well formed and the
   * server must then close.
   */
  private static void assertConnectionAnswers(byte[] bytes) throws Exception {
    UnixDomainSocketAddress address = UnixDomainSocketAddress.of(directory.resolve("fuzz.sock"));
    Files.deleteIfExists(address.getPath());
    Thread serving;
    try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      listener.bind(address);
      SocketChannel clientEnd = SocketChannel.open(address);
      SocketChannel serverEnd = listener.accept();
      HttpConnection connection =
          new HttpConnection(
              serverEnd,
              request -> HttpResponse.ok("{\"length\":" + request.body().length + "}"),
              new HttpConnection.Limits(MAX_HEAD, 256, 5_000),
              timer);
      serving = Thread.ofVirtual().start(connection);
      try (WireClient client = new WireClient(clientEnd)) {
        try {
          client.send(bytes);
          client.shutdownOutput();
        } catch (IOException e) {
          // The server may reject the start of the input and close before the rest is sent.
        }
        List<WireClient.Response> responses = client.readUntilClose(WAIT);
        for (WireClient.Response response : responses) {
          assertThat(response.status()).isIn(100, 200, 400);
          if (response.status() == 400) {
            assertThat(response.body()).startsWith("{\"fault_message\":\"");
          }
        }
      }
    } finally {
      Files.deleteIfExists(address.getPath());
    }
    serving.join(WAIT);
    assertThat(serving.isAlive()).as("the connection thread ended").isFalse();
  }
}
