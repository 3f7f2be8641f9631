package dev.kiln.api.http;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An HTTP/1.1 server on a Unix domain socket. One platform thread accepts; each connection runs on
 * a virtual thread of its own, so a stalled client delays no other client. The handler is called
 * from those threads and must do its own locking.
 */
public final class HttpServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(HttpServer.class);

  /** The maximum number of open connections. One more gets a 503 and is closed. */
  static final int MAX_CONNECTIONS = 256;

  private final Path path;
  private final ServerSocketChannel server;
  private final HttpConnection.Handler handler;
  private final HttpConnection.Limits limits;
  private final ScheduledExecutorService timer;
  private final Set<HttpConnection> connections = ConcurrentHashMap.newKeySet();
  private final Thread acceptor;
  private volatile boolean closing;

  private HttpServer(
      Path path,
      ServerSocketChannel server,
      HttpConnection.Handler handler,
      HttpConnection.Limits limits) {
    this.path = path;
    this.server = server;
    this.handler = handler;
    this.limits = limits;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().daemon().name("kiln-api-timer").unstarted(r));
    this.acceptor = Thread.ofPlatform().daemon().name("kiln-api").unstarted(this::acceptLoop);
  }

  /**
   * Binds {@code path} and starts serving.
   *
   * @throws IOException when the path exists or cannot be bound; the message names the path
   */
  public static HttpServer start(
      Path path, HttpConnection.Handler handler, HttpConnection.Limits limits) throws IOException {
    if (Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      throw new IOException(
          "API socket path " + path + " already exists; remove it or choose another --api-sock");
    }
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      server.bind(UnixDomainSocketAddress.of(path), MAX_CONNECTIONS);
    } catch (IOException | RuntimeException e) {
      server.close();
      throw new IOException(
          "cannot bind the API socket "
              + path
              + ": "
              + e.getMessage()
              + "; check that its directory exists and is writable, or choose another --api-sock",
          e);
    }
    HttpServer http = new HttpServer(path, server, handler, limits);
    http.acceptor.start();
    return http;
  }

  /** Returns the socket path. */
  public Path path() {
    return path;
  }

  private void acceptLoop() {
    while (!closing) {
      SocketChannel client;
      try {
        client = server.accept();
      } catch (ClosedChannelException e) {
        return;
      } catch (IOException e) {
        if (!closing) {
          LOG.warn("Accepting an API connection failed: {}", e.getMessage());
        }
        continue;
      }
      if (connections.size() >= MAX_CONNECTIONS) {
        reject(client);
        continue;
      }
      HttpConnection connection = new HttpConnection(client, handler, limits, timer);
      connections.add(connection);
      Thread.ofVirtual()
          .name("kiln-api-connection")
          .start(
              () -> {
                try {
                  connection.run();
                } finally {
                  connections.remove(connection);
                }
              });
    }
  }

  private static void reject(SocketChannel client) {
    try (client) {
      client.write(
          java.nio.ByteBuffer.wrap(
              HttpResponse.fault(
                      503,
                      "too many API connections are open (at most "
                          + MAX_CONNECTIONS
                          + "); close idle ones and retry")
                  .encode(true)));
    } catch (IOException e) {
      // The client went away first.
    }
  }

  /** Stops accepting, closes every connection and removes the socket file. */
  @Override
  public void close() {
    closing = true;
    try {
      server.close();
    } catch (IOException e) {
      LOG.debug("Closing the API socket failed: {}", e.getMessage());
    }
    for (HttpConnection connection : connections) {
      connection.close();
    }
    timer.shutdownNow();
    try {
      Files.deleteIfExists(path);
    } catch (IOException e) {
      LOG.warn("Cannot remove the API socket {}: {}", path, e.getMessage());
    }
  }
}
