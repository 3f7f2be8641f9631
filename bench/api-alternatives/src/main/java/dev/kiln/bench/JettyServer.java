package dev.kiln.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.unixdomain.server.UnixDomainServerConnector;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty 12 with its default thread pool on a UnixDomainServerConnector, answering {@code GET /}
 * with a Kiln-like instance document serialized by Jackson and {@code PUT /machine-config} with 204
 * after Jackson parses the body. Usage: {@code JettyServer SOCKET}.
 */
public final class JettyServer {
  private JettyServer() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: JettyServer SOCKET");
      System.exit(2);
    }
    Path path = Path.of(args[0]);
    Server server = new Server();
    UnixDomainServerConnector connector = new UnixDomainServerConnector(server);
    connector.setUnixDomainPath(path);
    server.addConnector(connector);
    server.setHandler(new Routes());
    server.setStopAtShutdown(true);
    server.start();
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    server.join();
                    Files.deleteIfExists(path);
                  } catch (Exception e) {
                    System.err.println("cannot remove " + path + ": " + e);
                  }
                }));
    System.err.println("listening on " + path);
    server.join();
  }

  private static final class Routes extends Handler.Abstract {
    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
      String method = request.getMethod();
      String target = Request.getPathInContext(request);
      if (method.equals("GET") && target.equals("/")) {
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        Content.Sink.write(response, true, JacksonJson.instanceInfo("bench"), callback);
      } else if (method.equals("PUT") && target.equals("/machine-config")) {
        String body = Content.Source.asString(request, StandardCharsets.UTF_8);
        JacksonJson.parse(body.getBytes(StandardCharsets.UTF_8));
        response.setStatus(204);
        callback.succeeded();
      } else {
        response.setStatus(404);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        Content.Sink.write(response, true, "{\"fault_message\":\"no such route\"}", callback);
      }
      return true;
    }
  }
}
