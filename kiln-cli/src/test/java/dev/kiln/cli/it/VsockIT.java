package dev.kiln.cli.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Boots the default guest once with a vsock device and drives both directions of Firecracker's
 * hybrid protocol against the guest's kiln-vsock program: the guest connects to an echo server on
 * {@code <uds_path>_5000}, then the test connects through {@code uds_path} with {@code CONNECT
 * 6000} to the guest's echo listener. Bad vsock configurations are rejected before any boot.
 */
class VsockIT {
  private static final Duration BOOT_TIMEOUT = Duration.ofMinutes(10);
  private static final int BAD_CONFIGURATION = 152;
  private static final int GUEST_CONNECT_PORT = 5000;
  private static final int GUEST_LISTEN_PORT = 6000;
  private static final int TRANSFER_BYTES = 1 << 20;
  private static final String BOOT_ARGS =
      "console=ttyS0 reboot=k panic=1 pci=off kiln.vsock.connect="
          + GUEST_CONNECT_PORT
          + ":"
          + TRANSFER_BYTES
          + " kiln.vsock.listen="
          + GUEST_LISTEN_PORT;
  private static final Pattern OK_LINE = Pattern.compile("OK ([0-9]+)\n");

  @TempDir Path directory;

  @BeforeAll
  static void requireGuest() {
    TestGuests.assumeHostCanBoot();
    boolean built =
        Files.isRegularFile(DefaultGuestIT.guestDirectory().resolve("vmlinux"))
            && Files.isRegularFile(DefaultGuestIT.guestDirectory().resolve("initramfs.cpio.gz"));
    if (System.getenv("CI") != null) {
      assertThat(built).as("CI must build the default guest first (guest/build.sh)").isTrue();
    }
    assumeTrue(built, "the default guest is not built; run guest/build.sh");
  }

  private Path writeConfig(String vsockSection) throws IOException {
    Path guest = DefaultGuestIT.guestDirectory();
    String json =
        """
        {
          "vsock": %s,
          "boot-source": {
            "kernel_image_path": "%s",
            "initrd_path": "%s",
            "boot_args": "%s"
          },
          "machine-config": {"vcpu_count": 1, "mem_size_mib": 256}
        }
        """
            .formatted(
                vsockSection,
                guest.resolve("vmlinux"),
                guest.resolve("initramfs.cpio.gz"),
                BOOT_ARGS);
    Path config = directory.resolve("vm.json");
    Files.writeString(config, json, StandardCharsets.UTF_8);
    return config;
  }

  /** Returns the 64-bit FNV-1a hash that kiln-vsock prints, as 16 hex digits. */
  private static String fnv1a(byte[] data) {
    long hash = 0xcbf29ce484222325L;
    for (byte b : data) {
      hash ^= b & 0xff;
      hash *= 0x100000001b3L;
    }
    return String.format("%016x", hash);
  }

  /** Accepts one connection on {@code server} and writes back every byte until end of file. */
  private static long echoOnce(ServerSocketChannel server) throws IOException {
    long total = 0;
    try (SocketChannel peer = server.accept()) {
      ByteBuffer buffer = ByteBuffer.allocate(16384);
      while (peer.read(buffer) >= 0) {
        buffer.flip();
        total += buffer.remaining();
        while (buffer.hasRemaining()) {
          peer.write(buffer);
        }
        buffer.clear();
      }
    }
    return total;
  }

  /** Connects through uds_path and sends CONNECT until the guest answers OK; returns the socket. */
  private static SocketChannel connectToGuest(Path udsPath, KilnProcess kiln, StringBuilder reply)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline) {
      SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(udsPath));
      channel.write(
          ByteBuffer.wrap(
              ("CONNECT " + GUEST_LISTEN_PORT + "\n").getBytes(StandardCharsets.UTF_8)));
      reply.setLength(0);
      ByteBuffer one = ByteBuffer.allocate(1);
      while (channel.read(one) > 0) {
        reply.append((char) one.get(0));
        one.clear();
        if (reply.charAt(reply.length() - 1) == '\n') {
          return channel;
        }
      }
      // Kiln closed the socket: the guest answered RST because it does not listen yet.
      channel.close();
      Thread.sleep(200);
    }
    throw new AssertionError(
        "the guest never accepted CONNECT "
            + GUEST_LISTEN_PORT
            + "; last reply \""
            + reply
            + "\"\n"
            + kiln.transcript());
  }

  @Test
  void bothDirectionsCarryOneMebibyte() throws Exception {
    Path udsPath = directory.resolve("v.sock");
    Path hostListenerPath = Path.of(udsPath + "_" + GUEST_CONNECT_PORT);
    Path config =
        writeConfig("{\"guest_cid\": 3, \"uds_path\": \"" + udsPath + "\", \"vsock_id\": \"v\"}");

    try (ServerSocketChannel echoServer = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      echoServer.bind(UnixDomainSocketAddress.of(hostListenerPath));
      CompletableFuture<Long> echoed =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return echoOnce(echoServer);
                } catch (IOException e) {
                  throw new RuntimeException(e);
                }
              });

      BootResult result;
      byte[] sent = new byte[TRANSFER_BYTES];
      new Random(42).nextBytes(sent);
      byte[] received;
      StringBuilder reply = new StringBuilder();
      try (KilnProcess kiln =
          KilnProcess.start(directory, "--no-api", "--config-file", config.toString())) {
        kiln.awaitOutput("match=yes", BOOT_TIMEOUT);
        kiln.awaitOutput("kiln-vsock: listening on port " + GUEST_LISTEN_PORT, BOOT_TIMEOUT);
        try (SocketChannel channel = connectToGuest(udsPath, kiln, reply)) {
          CompletableFuture<Void> writer =
              CompletableFuture.runAsync(
                  () -> {
                    try {
                      ByteBuffer data = ByteBuffer.wrap(sent);
                      while (data.hasRemaining()) {
                        channel.write(data);
                      }
                      channel.shutdownOutput();
                    } catch (IOException e) {
                      throw new RuntimeException(e);
                    }
                  });
          ByteArrayOutputStream echo = new ByteArrayOutputStream();
          ByteBuffer buffer = ByteBuffer.allocate(65536);
          while (channel.read(buffer) >= 0) {
            echo.write(buffer.array(), 0, buffer.position());
            buffer.clear();
          }
          writer.get(60, TimeUnit.SECONDS);
          received = echo.toByteArray();
        }
        result = kiln.awaitExit(BOOT_TIMEOUT);
      }
      String all = BootResult.transcript(result.stdout(), result.stderr());

      assertThat(result.exitStatus()).as(all).isZero();
      assertThat(echoed.get(10, TimeUnit.SECONDS)).as(all).isEqualTo(TRANSFER_BYTES);
      assertThat(result.stdout())
          .as(all)
          .anyMatch(
              line ->
                  line.contains(
                          "kiln-vsock: connect port="
                              + GUEST_CONNECT_PORT
                              + " sent="
                              + TRANSFER_BYTES
                              + " received="
                              + TRANSFER_BYTES)
                      && line.endsWith("match=yes"));

      Matcher ok = OK_LINE.matcher(reply);
      assertThat(ok.matches()).as("reply to CONNECT: \"%s\"", reply).isTrue();
      assertThat(Long.parseLong(ok.group(1))).as(all).isPositive();
      assertThat(received.length).as(all).isEqualTo(TRANSFER_BYTES);
      assertThat(received).as("the echo equals what was sent").isEqualTo(sent);
      assertThat(result.stdout())
          .as(all)
          .contains(
              "kiln-vsock: listen port="
                  + GUEST_LISTEN_PORT
                  + " received="
                  + TRANSFER_BYTES
                  + " fnv="
                  + fnv1a(sent));
      assertThat(udsPath).as("Kiln removes its socket file at exit").doesNotExist();
    }
  }

  private BootResult runConfig(Path config) throws IOException, InterruptedException {
    try (KilnProcess kiln =
        KilnProcess.start(directory, "--no-api", "--config-file", config.toString())) {
      return kiln.awaitExit(Duration.ofSeconds(60));
    }
  }

  @Test
  void existingUdsPathRejected() throws Exception {
    Path existing = Files.writeString(directory.resolve("taken.sock"), "not a socket");
    BootResult result =
        runConfig(writeConfig("{\"guest_cid\": 3, \"uds_path\": \"" + existing + "\"}"));
    String all = BootResult.transcript(result.stdout(), result.stderr());

    assertThat(result.exitStatus()).as(all).isEqualTo(BAD_CONFIGURATION);
    assertThat(result.stderr()).as(all).contains(existing.toString(), "already exists");
    assertThat(Files.readString(existing)).as("the file is left alone").isEqualTo("not a socket");
  }

  @Test
  void hostCidRejected() throws Exception {
    Path udsPath = directory.resolve("v.sock");
    BootResult result =
        runConfig(writeConfig("{\"guest_cid\": 2, \"uds_path\": \"" + udsPath + "\"}"));
    String all = BootResult.transcript(result.stdout(), result.stderr());

    assertThat(result.exitStatus()).as(all).isEqualTo(BAD_CONFIGURATION);
    assertThat(result.stderr()).as(all).contains("`vsock.guest_cid` is 2", "between 3 and");
    assertThat(udsPath).as("no socket is made for a rejected config").doesNotExist();
  }
}
