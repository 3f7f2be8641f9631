package dev.kiln.bench;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * An HTTP/1.1 server on a Unix socket built like Kiln's: one platform thread accepts and each
 * connection runs on a virtual thread. It answers {@code GET /} with a Kiln-like instance document
 * and {@code PUT /machine-config} with 204. Usage: {@code JdkServer SOCKET concat|jackson}, where
 * {@code concat} builds the JSON by string concatenation and {@code jackson} uses Jackson databind.
 *
 * <p>NOTE: a benchmark stand-in, not a complete server: no limits, no timeouts, no chunked bodies.
 */
public final class JdkServer {
  private static final String ID = "bench";

  private final boolean jackson;

  private JdkServer(boolean jackson) {
    this.jackson = jackson;
  }

  public static void main(String[] args) throws IOException {
    if (args.length != 2 || !(args[1].equals("concat") || args[1].equals("jackson"))) {
      System.err.println("usage: JdkServer SOCKET concat|jackson");
      System.exit(2);
    }
    Path path = Path.of(args[0]);
    JdkServer handler = new JdkServer(args[1].equals("jackson"));
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(path), 256);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    server.close();
                    Files.deleteIfExists(path);
                  } catch (IOException e) {
                    System.err.println("cannot remove " + path + ": " + e.getMessage());
                  }
                }));
    Thread acceptor = Thread.ofPlatform().name("acceptor").start(() -> handler.acceptLoop(server));
    System.err.println("listening on " + path);
    try {
      acceptor.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void acceptLoop(ServerSocketChannel server) {
    while (true) {
      SocketChannel client;
      try {
        client = server.accept();
      } catch (ClosedChannelException e) {
        return;
      } catch (IOException e) {
        System.err.println("accept failed: " + e.getMessage());
        continue;
      }
      Thread.ofVirtual().start(() -> serve(client));
    }
  }

  private void serve(SocketChannel client) {
    try (client) {
      ByteBuffer in = ByteBuffer.allocate(16384);
      while (true) {
        int headEnd;
        while ((headEnd = indexOfHeadEnd(in)) < 0) {
          if (!in.hasRemaining() || client.read(in) < 0) {
            return;
          }
        }
        String head = new String(in.array(), 0, headEnd, StandardCharsets.ISO_8859_1);
        String[] lines = head.split("\r\n");
        String[] requestLine = lines[0].split(" ");
        int contentLength = 0;
        boolean close = false;
        for (int i = 1; i < lines.length; i++) {
          String line = lines[i].toLowerCase(Locale.ROOT);
          if (line.startsWith("content-length:")) {
            contentLength = Integer.parseInt(line.substring(15).trim());
          } else if (line.startsWith("connection:") && line.contains("close")) {
            close = true;
          }
        }
        int bodyStart = headEnd + 4;
        while (in.position() < bodyStart + contentLength) {
          if (!in.hasRemaining() || client.read(in) < 0) {
            return;
          }
        }
        byte[] body = Arrays.copyOfRange(in.array(), bodyStart, bodyStart + contentLength);
        int consumed = bodyStart + contentLength;
        in.flip().position(consumed);
        in.compact();
        client.write(ByteBuffer.wrap(respond(requestLine[0], requestLine[1], body, close)));
        if (close) {
          return;
        }
      }
    } catch (IOException | RuntimeException e) {
      System.err.println("connection failed: " + e);
    }
  }

  private static int indexOfHeadEnd(ByteBuffer in) {
    byte[] a = in.array();
    for (int i = 0; i + 3 < in.position(); i++) {
      if (a[i] == '\r' && a[i + 1] == '\n' && a[i + 2] == '\r' && a[i + 3] == '\n') {
        return i;
      }
    }
    return -1;
  }

  private byte[] respond(String method, String target, byte[] body, boolean close)
      throws IOException {
    int status;
    String json = null;
    if (method.equals("GET") && target.equals("/")) {
      status = 200;
      json = jackson ? JacksonJson.instanceInfo(ID) : instanceInfo(ID);
    } else if (method.equals("PUT") && target.equals("/machine-config")) {
      if (jackson) {
        JacksonJson.parse(body);
      }
      status = 204;
    } else {
      status = 404;
      json = "{\"fault_message\":\"no such route\"}";
    }
    byte[] content = json == null ? new byte[0] : json.getBytes(StandardCharsets.UTF_8);
    String reason =
        switch (status) {
          case 200 -> "OK";
          case 204 -> "No Content";
          default -> "Not Found";
        };
    StringBuilder out = new StringBuilder(160);
    out.append("HTTP/1.1 ").append(status).append(' ').append(reason).append("\r\n");
    out.append("Connection: ").append(close ? "close" : "keep-alive").append("\r\n");
    if (json != null) {
      out.append("Content-Type: application/json\r\n");
    }
    if (status != 204) {
      out.append("Content-Length: ").append(content.length).append("\r\n");
    }
    out.append("\r\n");
    byte[] headBytes = out.toString().getBytes(StandardCharsets.ISO_8859_1);
    byte[] message = Arrays.copyOf(headBytes, headBytes.length + content.length);
    System.arraycopy(content, 0, message, headBytes.length, content.length);
    return message;
  }

  /** Returns the {@code GET /} body built by string concatenation; the values need no escaping. */
  private static String instanceInfo(String id) {
    return "{\"id\":\""
        + id
        + "\",\"state\":\"Not started\",\"vmm_version\":\"0.1.0\",\"app_name\":\"Kiln\"}";
  }
}
