package dev.kiln.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.kiln.api.http.HttpResponse;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checks a scripted API session against Firecracker's swagger document: each status is one the
 * document lists for the path and method (or its {@code default}), each 200 body has the required
 * properties of its schema and no property the schema lacks, and each 4xx body is {@code
 * {"fault_message": string}}.
 *
 * <p>The document is found by walking up from the working directory to {@code
 * shared/reference/firecracker-api.yaml}, or at the path in the system property {@code
 * kiln.swagger}. Without it the test is skipped, except when the environment variable {@code CI} is
 * set.
 */
class SwaggerConformanceTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static JsonNode swagger;

  @TempDir Path directory;

  @BeforeAll
  static void loadSwagger() throws IOException {
    Path document = findSwagger();
    if (System.getenv("CI") != null) {
      assertThat(document)
          .as("CI needs firecracker-api.yaml in shared/reference above the repository")
          .isNotNull();
    }
    assumeTrue(
        document != null,
        "firecracker-api.yaml not found: set -Dkiln.swagger=PATH to run the swagger checks");
    swagger = new ObjectMapper(new YAMLFactory()).readTree(document.toFile());
  }

  private static Path findSwagger() {
    String configured = System.getProperty("kiln.swagger");
    if (configured != null) {
      return Path.of(configured);
    }
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path candidate = dir.resolve("shared/reference/firecracker-api.yaml");
      if (Files.isRegularFile(candidate)) {
        return candidate;
      }
    }
    return null;
  }

  /** One request of the session. */
  private record Step(String method, String path, String body) {}

  private List<Step> session() throws IOException {
    Path rootfs = Files.write(directory.resolve("rootfs.ext4"), new byte[4096]);
    Path kernel = Files.write(directory.resolve("vmlinux"), new byte[16]);
    return List.of(
        new Step("GET", "/", null),
        new Step("GET", "/version", null),
        new Step("GET", "/machine-config", null),
        new Step("GET", "/vm/config", null),
        new Step("GET", "/mmds", null),
        new Step("GET", "/balloon", null),
        new Step("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"),
        new Step("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}"),
        new Step("PUT", "/logger", "{\"level\": \"Info\", \"show_level\": true}"),
        new Step("PUT", "/metrics", "{\"metrics_path\": \"/tmp/kiln-metrics\"}"),
        new Step("PUT", "/boot-source", "{\"boot_args\": \"console=ttyS0\"}"),
        new Step(
            "PUT",
            "/boot-source",
            "{\"kernel_image_path\": \"" + kernel + "\", \"boot_args\": \"console=ttyS0\"}"),
        new Step("PUT", "/machine-config", "{\"vcpu_count\": 2}"),
        new Step("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256}"),
        new Step("PATCH", "/machine-config", "{\"track_dirty_pages\": true}"),
        new Step("PATCH", "/machine-config", "{}"),
        new Step(
            "PUT",
            "/drives/rootfs",
            "{\"drive_id\": \"rootfs\", \"path_on_host\": \""
                + rootfs
                + "\", \"is_root_device\": true, \"is_read_only\": false}"),
        new Step("PUT", "/drives/other", "{\"drive_id\": \"rootfs\"}"),
        new Step("PATCH", "/drives/rootfs", "{\"drive_id\": \"rootfs\"}"),
        new Step(
            "PUT",
            "/network-interfaces/eth0",
            "{\"iface_id\": \"eth0\", \"host_dev_name\": \"t\"}"),
        new Step("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/tmp/v\"}"),
        new Step("PUT", "/entropy", "{}"),
        new Step("PUT", "/serial", "{\"serial_out_path\": \"/tmp/kiln-serial\"}"),
        new Step("PUT", "/balloon", "{\"amount_mib\": 8, \"deflate_on_oom\": true}"),
        new Step("GET", "/balloon", null),
        new Step("PATCH", "/balloon", "{\"amount_mib\": 4}"),
        new Step("GET", "/balloon/statistics", null),
        new Step("PUT", "/mmds", "{\"latest\": {\"meta-data\": {\"id\": \"i-1\"}}}"),
        new Step("PATCH", "/mmds", "{\"latest\": {\"user-data\": \"x\"}}"),
        new Step("GET", "/mmds", null),
        new Step("PUT", "/mmds/config", "{\"network_interfaces\": [\"eth0\"]}"),
        new Step("PUT", "/cpu-config", "{}"),
        new Step(
            "PUT", "/snapshot/create", "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\"}"),
        new Step("PUT", "/snapshot/load", "{\"snapshot_path\": \"/s\"}"),
        new Step("PUT", "/hotplug/memory", "{\"total_size_mib\": 1024}"),
        new Step("PATCH", "/vm", "{\"state\": \"Paused\"}"),
        new Step("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 1"),
        new Step("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 1, \"x\": 1}"),
        new Step("GET", "/machine-config", null),
        new Step("GET", "/vm/config", null),
        new Step("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"),
        new Step("GET", "/", null),
        new Step("GET", "/vm/config", null),
        new Step("GET", "/machine-config", null),
        new Step("GET", "/balloon", null),
        new Step("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"),
        new Step("PUT", "/boot-source", "{\"kernel_image_path\": \"" + kernel + "\"}"),
        new Step("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 64}"),
        new Step("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}"),
        new Step("PATCH", "/vm", "{\"state\": \"Frozen\"}"),
        new Step("PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 1}"),
        new Step("PUT", "/mmds", "{\"k\": \"v\"}"),
        new Step("GET", "/mmds", null),
        new Step("PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\"}"),
        new Step("GET", "/nope", null),
        new Step("DELETE", "/vm", null));
  }

  @Test
  void scriptedSessionConforms() throws Exception {
    ApiController api = new ApiController("conformance", "0.1.0", new FakeApiHost(), 51200);
    List<String> problems = new ArrayList<>();
    int checked200 = 0;
    for (Step step : session()) {
      HttpResponse response = ApiControllerTest.call(api, step.method(), step.path(), step.body());
      String exchange = step.method() + " " + step.path() + " -> " + response.status();
      JsonNode operation = operation(step.method(), step.path());
      if (operation != null) {
        JsonNode responses = operation.get("responses");
        if (!responses.has(Integer.toString(response.status())) && !responses.has("default")) {
          problems.add(exchange + ": status not listed " + responses.propertyStream().toList());
        }
      }
      int status = response.status();
      if (status == 204 && response.body() != null) {
        problems.add(exchange + ": a 204 with a body");
      }
      if (status >= 400 && status < 500) {
        JsonNode body = JSON.readTree(response.body());
        if (body.size() != 1 || !body.path("fault_message").isTextual()) {
          problems.add(exchange + ": error body is not {\"fault_message\": string}: " + body);
        }
      }
      if (status == 200) {
        if (operation == null) {
          problems.add(exchange + ": 200 for a path the document lacks");
          continue;
        }
        JsonNode schema = operation.path("responses").path("200").path("schema");
        checkAgainst(schema, JSON.readTree(response.body()), exchange, problems);
        checked200++;
      }
    }
    assertThat(problems).isEmpty();
    assertThat(checked200).as("200 responses checked").isGreaterThanOrEqualTo(10);
  }

  /** Returns the swagger operation for a concrete path, or null when the document has none. */
  private static JsonNode operation(String method, String path) {
    for (Map.Entry<String, JsonNode> entry : swagger.get("paths").properties()) {
      String regex = Pattern.quote(entry.getKey()).replaceAll("\\{[a-z_]+}", "\\\\E[^/]+\\\\Q");
      if (path.matches(regex)) {
        return entry.getValue().get(method.toLowerCase(java.util.Locale.ROOT));
      }
    }
    return null;
  }

  private static JsonNode resolve(JsonNode schema) {
    JsonNode ref = schema.get("$ref");
    if (ref == null) {
      return schema;
    }
    String name = ref.asText().substring("#/definitions/".length());
    return swagger.get("definitions").get(name);
  }

  /** Adds to {@code problems} where {@code value} breaks {@code schema}'s property rules. */
  private static void checkAgainst(
      JsonNode schema, JsonNode value, String where, List<String> problems) {
    JsonNode resolved = resolve(schema);
    if (value.isArray() && resolved.has("items")) {
      for (JsonNode item : value) {
        checkAgainst(resolved.get("items"), item, where + "[]", problems);
      }
      return;
    }
    if (!value.isObject()) {
      return;
    }
    for (JsonNode required : resolved.path("required")) {
      if (!value.has(required.asText())) {
        problems.add(where + ": missing required property " + required.asText());
      }
    }
    JsonNode properties = resolved.get("properties");
    if (properties == null || resolved.path("additionalProperties").asBoolean(false)) {
      return;
    }
    for (Iterator<String> names = value.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!properties.has(name)) {
        problems.add(where + ": property " + name + " is not in the schema");
      } else if (!value.get(name).isNull()) {
        checkAgainst(properties.get(name), value.get(name), where + "." + name, problems);
      }
    }
  }
}
