package dev.kiln.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.kiln.api.http.HttpRequest;
import dev.kiln.api.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;

/**
 * Sends random JSON bodies, built from Firecracker's field names and values, to every route in
 * random order: no request may end in a 5xx, and every error body must be {@code {"fault_message":
 * string}}.
 */
class ApiControllerFuzzTest {
  /** A kernel file for sessions that start the VM; the fake host never reads it. */
  private static final String KERNEL = kernelFile();

  private static String kernelFile() {
    try {
      java.nio.file.Path file = java.nio.file.Files.createTempFile("kiln-fuzz-kernel", ".bin");
      file.toFile().deleteOnExit();
      return file.toString();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private static final List<String> ROUTES =
      List.of(
          "GET /",
          "GET /version",
          "GET /machine-config",
          "PUT /machine-config",
          "PATCH /machine-config",
          "GET /vm/config",
          "PATCH /vm",
          "PUT /boot-source",
          "PUT /drives/rootfs",
          "PUT /drives/data",
          "PATCH /drives/rootfs",
          "PUT /network-interfaces/eth0",
          "PATCH /network-interfaces/eth0",
          "PUT /vsock",
          "PUT /entropy",
          "PUT /serial",
          "PUT /balloon",
          "GET /balloon",
          "PATCH /balloon",
          "GET /balloon/statistics",
          "PATCH /balloon/statistics",
          "PUT /logger",
          "PUT /metrics",
          "PUT /mmds",
          "PATCH /mmds",
          "GET /mmds",
          "PUT /mmds/config",
          "PUT /cpu-config",
          "PUT /actions",
          "PUT /snapshot/create",
          "PUT /hotplug/memory");

  /**
   * Routes that call the running VM. The fake host starts none, so they are left out after boot;
   * the integration tests send them to a real VM.
   */
  private static final List<String> CALLS_RUNNING_VM =
      List.of("PATCH /vm", "PATCH /drives/rootfs", "PUT /actions");

  private static final List<String> FIELDS =
      List.of(
          "vcpu_count",
          "mem_size_mib",
          "smt",
          "track_dirty_pages",
          "huge_pages",
          "cpu_template",
          "kernel_image_path",
          "boot_args",
          "initrd_path",
          "drive_id",
          "path_on_host",
          "is_root_device",
          "is_read_only",
          "partuuid",
          "cache_type",
          "io_engine",
          "rate_limiter",
          "bandwidth",
          "ops",
          "size",
          "one_time_burst",
          "refill_time",
          "socket",
          "amount_mib",
          "deflate_on_oom",
          "stats_polling_interval_s",
          "free_page_hinting",
          "free_page_reporting",
          "log_path",
          "level",
          "show_level",
          "show_log_origin",
          "module",
          "metrics_path",
          "action_type",
          "state",
          "iface_id",
          "host_dev_name",
          "guest_mac",
          "guest_cid",
          "uds_path",
          "version",
          "network_interfaces",
          "ipv4_address",
          "imds_compat",
          "serial_out_path",
          "rx_rate_limiter",
          "tx_rate_limiter");

  private static final List<String> VALUES =
      List.of(
          "InstanceStart",
          "SendCtrlAltDel",
          "FlushMetrics",
          "Paused",
          "Resumed",
          "None",
          "2M",
          "Transparent",
          "Unsafe",
          "Writeback",
          "Sync",
          "Async",
          "Info",
          "debug",
          "Off",
          "V1",
          "V2",
          "",
          "/dev/null",
          "/nonexistent/file",
          "169.254.169.254",
          "eth0",
          "rootfs",
          "data",
          "console=ttyS0",
          "T2",
          "\u0000",
          "\u00e9\u4e2d");

  @Provide
  Arbitrary<JsonNode> jsonValues() {
    return value(3);
  }

  private static Arbitrary<JsonNode> value(int depth) {
    Arbitrary<JsonNode> leaf =
        Arbitraries.oneOf(
            Arbitraries.just(NullNode.instance),
            Arbitraries.of(BooleanNode.TRUE, BooleanNode.FALSE),
            Arbitraries.longs().between(-3, 70_000).map(LongNode::valueOf),
            Arbitraries.longs().map(LongNode::valueOf),
            Arbitraries.bigIntegers()
                .between(
                    java.math.BigInteger.TWO.pow(70).negate(), java.math.BigInteger.TWO.pow(70))
                .map(NODES::numberNode),
            Arbitraries.doubles().between(-1e300, 1e300).map(DoubleNode::valueOf),
            Arbitraries.of(VALUES).map(TextNode::valueOf),
            Arbitraries.strings().ofMaxLength(12).map(TextNode::valueOf));
    if (depth == 0) {
      return leaf;
    }
    Arbitrary<JsonNode> child = value(depth - 1);
    Arbitrary<JsonNode> array =
        child
            .list()
            .ofMaxSize(4)
            .map(
                items -> {
                  ArrayNode node = NODES.arrayNode();
                  items.forEach(node::add);
                  return node;
                });
    Arbitrary<String> key =
        Arbitraries.frequencyOf(
            Tuple.of(6, Arbitraries.of(FIELDS)), Tuple.of(1, Arbitraries.strings().ofMaxLength(8)));
    Arbitrary<JsonNode> object =
        Combinators.combine(key, child)
            .as(Map::entry)
            .list()
            .ofMaxSize(6)
            .map(
                entries -> {
                  ObjectNode node = NODES.objectNode();
                  entries.forEach(e -> node.set(e.getKey(), e.getValue()));
                  return node;
                });
    return Arbitraries.frequencyOf(Tuple.of(2, leaf), Tuple.of(1, array), Tuple.of(5, object));
  }

  /** One request: a route and its body text, or no body. */
  record Call(String route, String body) {}

  @Provide
  Arbitrary<List<Call>> sessions() {
    Arbitrary<String> body =
        Arbitraries.frequencyOf(
            Tuple.of(8, jsonValues().map(JsonNode::toString)),
            Tuple.of(1, jsonValues().map(node -> truncate(node.toString()))),
            Tuple.of(1, Arbitraries.just("")));
    return Combinators.combine(Arbitraries.of(ROUTES), body).as(Call::new).list().ofMaxSize(12);
  }

  private static String truncate(String text) {
    return text.substring(0, text.length() / 2);
  }

  @Property(tries = 2000)
  void randomSessionsNeverFailInternally(
      @ForAll("sessions") List<Call> calls, @ForAll @IntRange(max = 2) int setup) throws Exception {
    // Random bodies almost never start the VM, so a third of the sessions start it first.
    ApiController api = new ApiController("fuzz", "0.0.0", new FakeApiHost(), 1024);
    if (setup >= 1) {
      send(api, "PUT /boot-source", "{\"kernel_image_path\": \"" + KERNEL + "\"}");
    }
    if (setup == 2) {
      assertThat(send(api, "PUT /actions", "{\"action_type\": \"InstanceStart\"}").status())
          .isEqualTo(204);
    }
    for (Call call : calls) {
      boolean running = !state(api).equals("Not started");
      if (running && CALLS_RUNNING_VM.contains(call.route())) {
        continue;
      }
      HttpResponse response = send(api, call.route(), call.body());
      String exchange = call.route() + " " + call.body() + " -> " + response.body();
      assertThat(response.status()).as(exchange).isIn(200, 204, 400, 404);
      if (response.status() >= 400) {
        JsonNode fault = JSON.readTree(response.body());
        assertThat(fault.size()).as(exchange).isEqualTo(1);
        assertThat(fault.path("fault_message").isTextual()).as(exchange).isTrue();
      }
    }
  }

  @Property(tries = 1000)
  void randomBytesAsBodyNeverFailInternally(
      @ForAll("routes") String route, @ForAll("bodyBytes") byte[] body) {
    ApiController api = new ApiController("fuzz", "0.0.0", new FakeApiHost(), 1024);
    String[] parts = route.split(" ", 2);

    HttpResponse response = api.handle(new HttpRequest(parts[0], parts[1], Map.of(), body));
    assertThat(response.status()).as(route + " -> " + response.body()).isIn(200, 204, 400, 404);
  }

  @Provide
  Arbitrary<String> routes() {
    return Arbitraries.of(ROUTES);
  }

  @Provide
  Arbitrary<byte[]> bodyBytes() {
    return Arbitraries.bytes().array(byte[].class).ofMaxSize(64);
  }

  private static HttpResponse send(ApiController api, String route, String body) {
    String[] parts = route.split(" ", 2);
    byte[] bytes = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    return api.handle(new HttpRequest(parts[0], parts[1], Map.of(), bytes));
  }

  private static String state(ApiController api) throws Exception {
    return JSON.readTree(send(api, "GET /", null).body()).get("state").asText();
  }
}
