package dev.kiln.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.kiln.client.FakeApiServer.RecordedRequest;
import dev.kiln.client.FakeApiServer.Reply;
import dev.kiln.client.model.CpuTemplate;
import dev.kiln.client.model.Drive;
import dev.kiln.client.model.InstanceActionInfo;
import dev.kiln.client.model.InstanceInfo;
import dev.kiln.client.model.Logger;
import dev.kiln.client.model.MachineConfiguration;
import dev.kiln.client.model.MemoryBackend;
import dev.kiln.client.model.MmdsConfig;
import dev.kiln.client.model.SnapshotCreateParams;
import dev.kiln.client.model.SnapshotLoadParams;
import dev.kiln.client.model.Vm;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checks the client and its models against Firecracker's swagger document: every operation is sent
 * to a path and method the document declares, with a body that its schema accepts, and every model
 * serializes exactly the properties of its definition.
 *
 * <p>The document is found by walking up from the working directory to {@code
 * shared/reference/firecracker-api.yaml}, or at the path in the system property {@code
 * kiln.swagger}.
 */
class SwaggerConformanceTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static JsonNode swagger;

  /** One swagger operation: its method, path template and body schema (null if none). */
  private record Operation(String id, String method, String pathTemplate, JsonNode bodySchema) {
    boolean matches(String requestMethod, String path) {
      String regex = Pattern.quote(pathTemplate).replaceAll("\\{[a-z_]+}", "\\\\E[^/]+\\\\Q");
      return method.equals(requestMethod) && path.matches(regex);
    }
  }

  /** One client call, labelled with the operation id it must send. */
  private record Call(String operationId, ClientAction action) {}

  @FunctionalInterface
  private interface ClientAction {
    void run(KilnClient client) throws IOException;
  }

  @BeforeAll
  static void loadSwagger() throws IOException {
    Path document = findSwagger();
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

  private static List<Operation> operations() {
    List<Operation> operations = new ArrayList<>();
    for (Map.Entry<String, JsonNode> path : swagger.get("paths").properties()) {
      for (Map.Entry<String, JsonNode> method : path.getValue().properties()) {
        JsonNode body = null;
        for (JsonNode parameter : method.getValue().path("parameters")) {
          if (parameter.path("in").asText().equals("body")) {
            body = parameter.get("schema");
          }
        }
        operations.add(
            new Operation(
                method.getValue().get("operationId").asText(),
                method.getKey().toUpperCase(),
                path.getKey(),
                body));
      }
    }
    return operations;
  }

  /** Every client method, convenience methods included, with the operation each one sends. */
  private static List<Call> everyCall() {
    JsonNode mmds = JsonNodeFactory.instance.objectNode().put("latest", "meta-data");
    return List.of(
        new Call("describeInstance", KilnClient::describeInstance),
        new Call("getFirecrackerVersion", KilnClient::getFirecrackerVersion),
        new Call("getFirecrackerVersion", KilnClient::getVersion),
        new Call("createSyncAction", c -> c.createSyncAction(Samples.INSTANCE_ACTION_INFO)),
        new Call("createSyncAction", KilnClient::startInstance),
        new Call("createSyncAction", KilnClient::sendCtrlAltDel),
        new Call("createSyncAction", KilnClient::flushMetrics),
        new Call("patchVm", c -> c.patchVm(Samples.VM)),
        new Call("patchVm", KilnClient::pause),
        new Call("patchVm", KilnClient::resume),
        new Call("getExportVmConfig", KilnClient::getExportVmConfig),
        new Call("putGuestBootSource", c -> c.putGuestBootSource(Samples.BOOT_SOURCE)),
        new Call("getMachineConfiguration", KilnClient::getMachineConfiguration),
        new Call(
            "putMachineConfiguration",
            c -> c.putMachineConfiguration(Samples.MACHINE_CONFIGURATION)),
        new Call(
            "patchMachineConfiguration",
            c -> c.patchMachineConfiguration(MachineConfiguration.builder().smt(true).build())),
        new Call("putCpuConfiguration", c -> c.putCpuConfiguration(Samples.CPU_CONFIG)),
        new Call("putGuestDriveByID", c -> c.putGuestDriveByID("rootfs", Samples.DRIVE)),
        new Call(
            "patchGuestDriveByID", c -> c.patchGuestDriveByID("rootfs", Samples.PARTIAL_DRIVE)),
        new Call("putGuestPmemByID", c -> c.putGuestPmemByID("pmem0", Samples.PMEM)),
        new Call("patchGuestPmemByID", c -> c.patchGuestPmemByID("pmem0", Samples.PARTIAL_PMEM)),
        new Call(
            "putGuestNetworkInterfaceByID",
            c -> c.putGuestNetworkInterfaceByID("eth0", Samples.NETWORK_INTERFACE)),
        new Call(
            "patchGuestNetworkInterfaceByID",
            c -> c.patchGuestNetworkInterfaceByID("eth0", Samples.PARTIAL_NETWORK_INTERFACE)),
        new Call("putGuestVsock", c -> c.putGuestVsock(Samples.VSOCK)),
        new Call("putEntropyDevice", c -> c.putEntropyDevice(Samples.ENTROPY_DEVICE)),
        new Call("putSerialDevice", c -> c.putSerialDevice(Samples.SERIAL_DEVICE)),
        new Call("putBalloon", c -> c.putBalloon(Samples.BALLOON)),
        new Call("patchBalloon", c -> c.patchBalloon(Samples.BALLOON_UPDATE)),
        new Call("describeBalloonConfig", KilnClient::describeBalloonConfig),
        new Call("describeBalloonStats", KilnClient::describeBalloonStats),
        new Call(
            "patchBalloonStatsInterval",
            c -> c.patchBalloonStatsInterval(Samples.BALLOON_STATS_UPDATE)),
        new Call("startBalloonHinting", c -> c.startBalloonHinting(Samples.BALLOON_START_CMD)),
        new Call("startBalloonHinting", c -> c.startBalloonHinting(null)),
        new Call("describeBalloonHinting", KilnClient::describeBalloonHinting),
        new Call("stopBalloonHinting", KilnClient::stopBalloonHinting),
        new Call("putMemoryHotplug", c -> c.putMemoryHotplug(Samples.MEMORY_HOTPLUG_CONFIG)),
        new Call(
            "patchMemoryHotplug", c -> c.patchMemoryHotplug(Samples.MEMORY_HOTPLUG_SIZE_UPDATE)),
        new Call("getMemoryHotplug", KilnClient::getMemoryHotplug),
        new Call("putLogger", c -> c.putLogger(Samples.LOGGER)),
        new Call("putMetrics", c -> c.putMetrics(Samples.METRICS)),
        new Call("putMmds", c -> c.putMmds(mmds)),
        new Call("patchMmds", c -> c.patchMmds(mmds)),
        new Call("getMmds", KilnClient::getMmds),
        new Call("putMmdsConfig", c -> c.putMmdsConfig(Samples.MMDS_CONFIG)),
        new Call("createSnapshot", c -> c.createSnapshot(Samples.SNAPSHOT_CREATE_PARAMS)),
        new Call("loadSnapshot", c -> c.loadSnapshot(Samples.SNAPSHOT_LOAD_PARAMS)));
  }

  @Test
  void everyOperationSendsDeclaredRequest(@TempDir Path dir) throws IOException {
    List<Operation> operations = operations();
    Set<String> sent = new TreeSet<>();
    try (FakeApiServer server = new FakeApiServer(dir.resolve("api.sock"));
        KilnClient client = new KilnClient(server.socketPath())) {
      server.respondWith(
          request -> request.method().equals("GET") ? Reply.json(200, "{}") : Reply.noContent());
      for (Call call : everyCall()) {
        server.clearRequests();
        call.action().run(client);

        assertThat(server.requests()).as(call.operationId()).hasSize(1);
        RecordedRequest request = server.lastRequest();
        List<Operation> matching =
            operations.stream()
                .filter(op -> op.matches(request.method(), request.target()))
                .toList();
        assertThat(matching).as(request.requestLine()).hasSize(1);
        Operation operation = matching.getFirst();
        assertThat(operation.id()).as(request.requestLine()).isEqualTo(call.operationId());
        assertThat(request.version()).isEqualTo("HTTP/1.1");
        assertThat(request.headers()).containsEntry("host", "localhost");
        assertThat(request.headers()).containsEntry("accept", "application/json");

        if (request.body().length == 0) {
          assertThat(operation.bodySchema() == null || !isRequired(operation))
              .as("%s needs a body", request.requestLine())
              .isTrue();
          assertThat(request.headers()).doesNotContainKey("content-type");
        } else {
          assertThat(operation.bodySchema()).as(request.requestLine()).isNotNull();
          assertThat(request.headers()).containsEntry("content-type", "application/json");
          assertThat(request.headers())
              .containsEntry("content-length", Integer.toString(request.body().length));
          List<String> violations = new ArrayList<>();
          JsonNode schema = operation.bodySchema();
          if (isPartialUpdate(operation)) {
            // A PATCH that reuses the PUT's definition may send any subset of its properties.
            schema =
                definition(schema.get("$ref").asText().substring("#/definitions/".length()))
                    .deepCopy();
            ((ObjectNode) schema).remove("required");
          }
          validate(request.json(), schema, request.requestLine(), violations);
          assertThat(violations).as(request.requestLine()).isEmpty();
        }
        sent.add(operation.id());
      }
    }
    Set<String> declared =
        operations.stream().map(Operation::id).collect(Collectors.toCollection(TreeSet::new));
    assertThat(sent).isEqualTo(declared);
  }

  private static boolean isPartialUpdate(Operation operation) {
    JsonNode put = swagger.get("paths").get(operation.pathTemplate()).get("put");
    if (!operation.method().equals("PATCH") || put == null) {
      return false;
    }
    for (JsonNode parameter : put.path("parameters")) {
      if (parameter.path("in").asText().equals("body")) {
        return parameter.get("schema").equals(operation.bodySchema());
      }
    }
    return false;
  }

  private static boolean isRequired(Operation operation) {
    JsonNode op =
        swagger.get("paths").get(operation.pathTemplate()).get(operation.method().toLowerCase());
    for (JsonNode parameter : op.path("parameters")) {
      if (parameter.path("in").asText().equals("body")) {
        return parameter.path("required").asBoolean(false);
      }
    }
    return false;
  }

  @Test
  void everyOperationHasClientMethod() {
    Set<String> methods =
        Arrays.stream(KilnClient.class.getMethods())
            .filter(m -> Modifier.isPublic(m.getModifiers()))
            .map(Method::getName)
            .collect(Collectors.toSet());
    for (Operation operation : operations()) {
      assertThat(methods).as("KilnClient method for %s", operation.id()).contains(operation.id());
    }
  }

  @Test
  void modelsSerializeExactlyDeclaredProperties() {
    for (Map.Entry<String, Object> sample : Samples.BY_DEFINITION.entrySet()) {
      JsonNode definition = swagger.get("definitions").get(sample.getKey());
      assertThat(definition).as("definition %s", sample.getKey()).isNotNull();
      JsonNode json = JSON.valueToTree(sample.getValue());

      assertThat(fieldNames(json))
          .as("properties of %s", sample.getKey())
          .isEqualTo(fieldNames(definition.get("properties")));
      List<String> violations = new ArrayList<>();
      validate(json, definition, sample.getKey(), violations);
      assertThat(violations).as(sample.getKey()).isEmpty();
    }
  }

  @Test
  void modelsCoverEveryObjectDefinition() {
    Set<String> objects = new TreeSet<>();
    for (Map.Entry<String, JsonNode> definition : swagger.get("definitions").properties()) {
      if (definition.getValue().has("properties")) {
        objects.add(definition.getKey());
      }
    }
    // Error is read by KilnApiException, and CpuConfig's nested modifiers stay raw JSON.
    objects.removeAll(
        Set.of(
            "Error",
            "CpuidLeafModifier",
            "CpuidRegisterModifier",
            "MsrModifier",
            "ArmRegisterModifier",
            "VcpuFeatures"));
    assertThat(Samples.BY_DEFINITION.keySet()).containsExactlyInAnyOrderElementsOf(objects);
  }

  @Test
  void modelsRoundTripThroughJson() throws IOException {
    for (Object sample : Samples.BY_DEFINITION.values()) {
      String json = JSON.writeValueAsString(sample);
      assertThat(JSON.readValue(json, sample.getClass())).as(json).isEqualTo(sample);
    }
  }

  @Test
  void enumsMatchDeclaredValues() {
    Map<Class<? extends Enum<?>>, JsonNode> enums = new LinkedHashMap<>();
    enums.put(CpuTemplate.class, definition("CpuTemplate"));
    enums.put(MachineConfiguration.HugePages.class, property("MachineConfiguration", "huge_pages"));
    enums.put(Drive.CacheType.class, property("Drive", "cache_type"));
    enums.put(Drive.IoEngine.class, property("Drive", "io_engine"));
    enums.put(Logger.Level.class, property("Logger", "level"));
    enums.put(MmdsConfig.Version.class, property("MmdsConfig", "version"));
    enums.put(InstanceActionInfo.ActionType.class, property("InstanceActionInfo", "action_type"));
    enums.put(InstanceInfo.State.class, property("InstanceInfo", "state"));
    enums.put(Vm.State.class, property("Vm", "state"));
    enums.put(
        SnapshotCreateParams.SnapshotType.class, property("SnapshotCreateParams", "snapshot_type"));
    enums.put(SnapshotLoadParams.HugePages.class, property("SnapshotLoadParams", "huge_pages"));
    enums.put(MemoryBackend.BackendType.class, property("MemoryBackend", "backend_type"));

    for (Map.Entry<Class<? extends Enum<?>>, JsonNode> entry : enums.entrySet()) {
      Set<String> javaValues = new HashSet<>();
      for (Enum<?> constant : entry.getKey().getEnumConstants()) {
        javaValues.add(JSON.convertValue(constant, String.class));
      }
      Set<String> declared = new HashSet<>();
      for (JsonNode value : entry.getValue().get("enum")) {
        // YAML 1.1 reads the unquoted enum value Off (Logger.level) as the boolean false.
        declared.add(value.isBoolean() && !value.asBoolean() ? "Off" : value.asText());
      }
      assertThat(javaValues).as(entry.getKey().getName()).isEqualTo(declared);
    }
  }

  private static JsonNode definition(String name) {
    return swagger.get("definitions").get(name);
  }

  private static JsonNode property(String definition, String property) {
    return definition(definition).get("properties").get(property);
  }

  private static Set<String> fieldNames(JsonNode object) {
    Set<String> names = new TreeSet<>();
    object.fieldNames().forEachRemaining(names::add);
    return names;
  }

  /**
   * Collects where {@code value} breaks {@code schema}: undeclared or missing properties, types.
   */
  private static void validate(
      JsonNode value, JsonNode schema, String where, List<String> violations) {
    if (schema.has("$ref")) {
      String name = schema.get("$ref").asText().substring("#/definitions/".length());
      validate(value, definition(name), where, violations);
      return;
    }
    String type = schema.path("type").asText("object");
    switch (type) {
      case "object" -> validateObject(value, schema, where, violations);
      case "array" -> {
        if (!value.isArray()) {
          violations.add(where + " is not an array");
          return;
        }
        for (int i = 0; i < value.size(); i++) {
          validate(value.get(i), schema.get("items"), where + "[" + i + "]", violations);
        }
      }
      case "string" -> {
        if (!value.isTextual()) {
          violations.add(where + " is not a string");
        } else if (schema.has("enum")) {
          Set<String> allowed = new HashSet<>();
          schema.get("enum").forEach(v -> allowed.add(v.asText()));
          if (!allowed.contains(value.asText())) {
            violations.add(where + " is " + value + ", not one of " + allowed);
          }
        }
      }
      case "integer" -> {
        if (!value.isIntegralNumber()) {
          violations.add(where + " is not an integer");
        }
      }
      case "boolean" -> {
        if (!value.isBoolean()) {
          violations.add(where + " is not a boolean");
        }
      }
      default ->
          violations.add(where + " has schema type " + type + ", which this test cannot check");
    }
  }

  private static void validateObject(
      JsonNode value, JsonNode schema, String where, List<String> violations) {
    if (!value.isObject()) {
      violations.add(where + " is not an object");
      return;
    }
    JsonNode properties = schema.path("properties");
    JsonNode additional = schema.path("additionalProperties");
    for (JsonNode required : schema.path("required")) {
      if (!value.has(required.asText())) {
        violations.add(where + " misses required property " + required.asText());
      }
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      String path = where + "." + field.getKey();
      if (properties.has(field.getKey())) {
        validate(field.getValue(), properties.get(field.getKey()), path, violations);
      } else if (additional.isObject()) {
        validate(field.getValue(), additional, path, violations);
      } else if (!additional.asBoolean(false)) {
        violations.add(path + " is not declared");
      }
    }
  }
}
