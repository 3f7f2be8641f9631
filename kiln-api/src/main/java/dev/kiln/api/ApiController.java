package dev.kiln.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.api.http.HttpConnection;
import dev.kiln.api.http.HttpRequest;
import dev.kiln.api.http.HttpResponse;
import dev.kiln.sys.SyscallException;
import dev.kiln.vmm.MicroVm;
import dev.kiln.vmm.VmStartException;
import dev.kiln.vmm.config.ConfigException;
import dev.kiln.vmm.config.LoggerConfig;
import dev.kiln.vmm.config.MachineConfig;
import dev.kiln.vmm.config.VmConfig;
import dev.kiln.vmm.config.VmConfigParser;
import dev.kiln.vmm.devices.virtio.balloon.BalloonDevice;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Firecracker's REST API: routes each request to the VM configuration before boot, or to the
 * running VM after it. Requests are handled one at a time, in arrival order, as Firecracker's
 * single API thread does.
 *
 * <p>Before {@code InstanceStart} the configuration is kept as the JSON document a {@code
 * --config-file} would hold. Each change is applied to a copy, the copy is parsed and validated
 * with the config-file rules, and only a valid copy replaces the document; so a change that is
 * rejected leaves nothing behind, and {@code GET /vm/config} returns a file Kiln can load.
 */
public final class ApiController implements HttpConnection.Handler {
  private static final Logger LOG = LoggerFactory.getLogger(ApiController.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  /**
   * The version of Firecracker's API that Kiln serves, for {@code GET /version}. Clients compare it
   * with the Firecracker release they need, so it names the API, not Kiln's own version.
   */
  public static final String FIRECRACKER_API_VERSION = "1.17.0";

  static final String NOT_AFTER_BOOT =
      "The requested operation is not supported after starting the microVM.";
  static final String NOT_BEFORE_BOOT =
      "The requested operation is not supported before starting the microVM.";

  /** The states {@code GET /} reports. */
  enum State {
    NOT_STARTED("Not started"),
    RUNNING("Running"),
    PAUSED("Paused");

    final String apiName;

    State(String apiName) {
      this.apiName = apiName;
    }
  }

  private final String instanceId;
  private final String version;
  private final ApiHost host;
  private final long mmdsSizeLimit;
  private final RequestMetrics requestMetrics = new RequestMetrics();
  private ObjectNode document = NODES.objectNode();
  private JsonNode mmds;
  private State state = State.NOT_STARTED;
  private MicroVm vm;

  /**
   * @param instanceId the {@code --id}
   * @param version Kiln's version, for {@code GET /} and {@code GET /version}
   * @param mmdsSizeLimit the largest MMDS data store in bytes ({@code --mmds-size-limit})
   */
  public ApiController(String instanceId, String version, ApiHost host, long mmdsSizeLimit) {
    this.instanceId = instanceId;
    this.version = version;
    this.host = host;
    this.mmdsSizeLimit = mmdsSizeLimit;
  }

  /**
   * Loads a {@code --config-file} given with the API, so its sections show in {@code GET
   * /vm/config}; the caller starts the VM.
   */
  public synchronized void loadConfigFile(String json) throws ConfigException {
    JsonNode tree = VmConfigParser.read(json, JsonNode.class, "config file");
    if (tree instanceof ObjectNode object) {
      document = object.deepCopy();
    }
  }

  /** Makes the object in {@code json} (a {@code --metadata} file) the MMDS data store. */
  public synchronized void loadMetadata(String json, String source) throws ConfigException {
    JsonNode tree = VmConfigParser.read(json, JsonNode.class, source);
    if (!tree.isObject()) {
      throw new ConfigException(source + ": the metadata must be a JSON object");
    }
    if (json.getBytes(StandardCharsets.UTF_8).length > mmdsSizeLimit) {
      throw new ConfigException(
          source + ": the metadata is larger than --mmds-size-limit (" + mmdsSizeLimit + " bytes)");
    }
    mmds = tree;
  }

  /** Records that the VM from a {@code --config-file} runs, for the post-boot routes. */
  public synchronized void started(MicroVm running) {
    vm = running;
    state = State.RUNNING;
  }

  /**
   * Returns the API request counters by Firecracker's metrics section name ({@code
   * put_api_requests} and the like), counted since the start.
   */
  public Map<String, Map<String, Long>> requestMetrics() {
    return requestMetrics.snapshot();
  }

  @Override
  public synchronized HttpResponse handle(HttpRequest request) {
    HttpResponse response = dispatch(request);
    String[] parts = segments(request.path());
    String first = parts.length > 0 ? parts[0] : "";
    requestMetrics.record(request.method(), first, response.status() >= 400);
    return response;
  }

  private HttpResponse dispatch(HttpRequest request) {
    String method = request.method();
    String path = request.path();
    try {
      HttpResponse response = route(method, path, request.body());
      LOG.debug("API {} {} -> {}", method, path, response.status());
      return response;
    } catch (ApiException | ConfigException e) {
      LOG.info("API {} {} rejected: {}", method, path, e.getMessage());
      return HttpResponse.fault(400, e.getMessage());
    } catch (RuntimeException e) {
      LOG.error("API {} {} failed: {}", method, path, e.toString(), e);
      return HttpResponse.fault(500, "internal error: " + e);
    }
  }

  private HttpResponse route(String method, String path, byte[] body)
      throws ApiException, ConfigException {
    String[] parts = segments(path);
    String first = parts.length > 0 ? parts[0] : "";
    String id = parts.length == 2 ? parts[1] : null;
    String source = method + " " + path;
    switch (routeKey(method, parts)) {
      case "GET ":
        return HttpResponse.ok(instanceInfo());
      case "GET version":
        return json(NODES.objectNode().put("firecracker_version", FIRECRACKER_API_VERSION));
      case "GET machine-config":
        return json(machineConfig());
      case "PUT machine-config":
        return putMachineConfig(body, source, false);
      case "PATCH machine-config":
        return putMachineConfig(body, source, true);
      case "GET vm/{id}":
        if ("config".equals(id)) {
          return json(fullConfig());
        }
        break;
      case "PATCH vm":
        return patchVm(body, source);
      case "PUT boot-source":
        return putSection("boot-source", body, source);
      case "PUT drives/{id}":
        return putListEntry("drives", "drive_id", id, body, source);
      case "PATCH drives/{id}":
        return patchDrive(id, body, source);
      case "PUT network-interfaces/{id}":
        return putListEntry("network-interfaces", "iface_id", id, body, source);
      case "PATCH network-interfaces/{id}":
        return patchNetworkInterface(id, body, source);
      case "PUT vsock":
        return putSection("vsock", body, source);
      case "PUT entropy":
        return putSection("entropy", body, source);
      case "PUT serial":
        return putSection("serial", body, source);
      case "PUT balloon":
        return putSection("balloon", body, source);
      case "GET balloon":
        return getBalloon();
      case "PATCH balloon":
        return patchBalloon(body, source);
      case "GET balloon/{id}":
        if ("statistics".equals(id)) {
          return balloonStatistics();
        }
        break;
      case "PATCH balloon/{id}":
        if ("statistics".equals(id)) {
          return patchBalloonStatistics(body, source);
        }
        break;
      case "PUT logger":
        return putLogger(body, source);
      case "PUT metrics":
        return putMetrics(body, source);
      case "PUT mmds":
        return putMmds(body, source, false);
      case "PATCH mmds":
        return putMmds(body, source, true);
      case "GET mmds":
        if (mmds == null) {
          return HttpResponse.fault(
              404, "The MMDS data store is not initialized; PUT /mmds first.");
        }
        return json(mmds);
      case "PUT mmds/{id}":
        if ("config".equals(id)) {
          return putMmdsConfig(body, source);
        }
        break;
      case "PUT cpu-config":
        throw new ApiException(
            "CPU templates and custom CPU configuration are not supported by Kiln yet; remove the"
                + " PUT /cpu-config call");
      case "PUT actions":
        return action(body, source);
      default:
        break;
    }
    String unsupported = unsupportedFeature(parts);
    if (unsupported != null) {
      throw new ApiException(unsupported + " are not supported by Kiln yet (" + source + ")");
    }
    throw new ApiException(
        String.format(
            "Invalid request method and/or path: %s %s. See the Firecracker API for the paths"
                + " and methods",
            method, path));
  }

  /** Returns the name of the Firecracker feature at {@code parts} that Kiln lacks, or null. */
  /** Returns the segments of a path: {@code /drives/rootfs} gives drives and rootfs. */
  private static String[] segments(String path) {
    return path.length() > 1 ? path.substring(1).split("/", -1) : new String[0];
  }

  /**
   * Returns the key the routes are listed under: the method and the first segment, then {@code
   * /{id}} for a path of two segments. A longer path gets a key that matches no route.
   */
  private static String routeKey(String method, String[] parts) {
    String key = method + " " + (parts.length > 0 ? parts[0] : "");
    if (parts.length == 2) {
      return key + "/{id}";
    }
    if (parts.length > 2) {
      return key + "/";
    }
    return key;
  }

  private static String unsupportedFeature(String[] parts) {
    if (parts.length == 0) {
      return null;
    }
    return switch (parts[0]) {
      case "snapshot" -> "Snapshots";
      case "hotplug" -> "Memory hot-plugging requests";
      case "pmem" -> "pmem devices";
      case "balloon" ->
          parts.length == 3 && parts[1].equals("hinting")
              ? "Balloon free page hinting requests"
              : null;
      default -> null;
    };
  }

  // --- Pre-boot configuration --------------------------------------------------------------

  private void requireNotStarted() throws ApiException {
    if (state != State.NOT_STARTED) {
      throw new ApiException(NOT_AFTER_BOOT);
    }
  }

  private void requireStarted() throws ApiException {
    if (state == State.NOT_STARTED) {
      throw new ApiException(NOT_BEFORE_BOOT);
    }
  }

  private static ObjectNode bodyObject(byte[] body, String source)
      throws ConfigException, ApiException {
    JsonNode node =
        VmConfigParser.read(new String(body, StandardCharsets.UTF_8), JsonNode.class, source);
    if (!(node instanceof ObjectNode object)) {
      throw new ApiException(source + ": the body must be a JSON object");
    }
    return object;
  }

  /** Validates {@code candidate} as a partial configuration and makes it the document. */
  private void commit(ObjectNode candidate, String source) throws ConfigException {
    validated(candidate, source);
    document = candidate;
  }

  /**
   * Parses and validates {@code candidate} with the config-file rules. After boot only the sections
   * a running VM can change are checked again: the others were checked at InstanceStart, and some
   * of their checks no longer hold once the VM runs (the vsock socket path exists then).
   */
  private VmConfig validated(ObjectNode candidate, String source) throws ConfigException {
    if (state == State.NOT_STARTED) {
      return VmConfigParser.parsePartial(candidate.toString(), source);
    }
    ObjectNode changeable = NODES.objectNode();
    for (String section : List.of("machine-config", "drives", "network-interfaces", "balloon")) {
      if (candidate.has(section)) {
        changeable.set(section, candidate.get(section));
      }
    }
    return VmConfigParser.parsePartial(changeable.toString(), source);
  }

  private HttpResponse putSection(String section, byte[] body, String source)
      throws ApiException, ConfigException {
    requireNotStarted();
    ObjectNode value = bodyObject(body, source);
    checkFiles(section, value, source);
    ObjectNode candidate = document.deepCopy();
    candidate.set(section, value);
    commit(candidate, source);
    return HttpResponse.noContent();
  }

  /**
   * Checks, as Firecracker does when the request arrives, that the files a section names can be
   * used: the kernel and initrd are readable regular files, and the serial output is not a
   * directory. The config-file path finds the same problems when the VM is built.
   */
  private static void checkFiles(String section, ObjectNode value, String source)
      throws ApiException {
    switch (section) {
      case "boot-source" -> {
        checkReadableFile(value.path("kernel_image_path"), "kernel_image_path", source);
        checkReadableFile(value.path("initrd_path"), "initrd_path", source);
      }
      case "serial" -> {
        JsonNode out = value.path("serial_out_path");
        if (out.isTextual() && Files.isDirectory(Path.of(out.asText()))) {
          throw new ApiException(
              source
                  + ": `serial_out_path` "
                  + out.asText()
                  + " is a directory; give a file or named pipe");
        }
      }
      default -> {
        // Other sections name no file that must exist before InstanceStart.
      }
    }
  }

  private static void checkReadableFile(JsonNode field, String name, String source)
      throws ApiException {
    if (!field.isTextual() || field.asText().isEmpty() || field.asText().indexOf('\0') >= 0) {
      return; // the config parser reports a missing or malformed value
    }
    Path path = Path.of(field.asText());
    if (!Files.exists(path)) {
      throw new ApiException(
          source + ": `" + name + "` " + path + " does not exist; check the path");
    }
    if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
      throw new ApiException(
          source
              + ": `"
              + name
              + "` "
              + path
              + " is not a readable regular file; give an image file");
    }
  }

  private HttpResponse putListEntry(
      String section, String idField, String id, byte[] body, String source)
      throws ApiException, ConfigException {
    requireNotStarted();
    ObjectNode value = bodyObject(body, source);
    JsonNode bodyId = value.get(idField);
    if (bodyId == null || !bodyId.isTextual()) {
      throw new ApiException(
          source + ": missing `" + idField + "`; it must equal the id in the path");
    }
    if (!bodyId.asText().equals(id)) {
      throw new ApiException(
          String.format(
              "%s: the id from the path (%s) does not match the id from the body (%s)",
              source, id, bodyId.asText()));
    }
    ObjectNode candidate = document.deepCopy();
    ArrayNode list =
        candidate.get(section) instanceof ArrayNode existing
            ? existing
            : candidate.putArray(section);
    int index = indexOf(list, idField, id);
    if (index >= 0) {
      list.set(index, value);
    } else {
      list.add(value);
    }
    commit(candidate, source);
    return HttpResponse.noContent();
  }

  private static int indexOf(ArrayNode list, String idField, String id) {
    for (int i = 0; i < list.size(); i++) {
      if (id.equals(list.get(i).path(idField).asText(null))) {
        return i;
      }
    }
    return -1;
  }

  private ObjectNode machineConfig() {
    ObjectNode machine = JSON.valueToTree(MachineConfig.DEFAULT);
    machine.remove("cpu_template");
    if (document.get("machine-config") instanceof ObjectNode set) {
      machine.setAll(set);
    }
    return machine;
  }

  private HttpResponse putMachineConfig(byte[] body, String source, boolean patch)
      throws ApiException, ConfigException {
    requireNotStarted();
    ObjectNode value = bodyObject(body, source);
    ObjectNode merged;
    if (patch) {
      if (value.isEmpty()) {
        throw new ApiException(source + ": the body has no field to change");
      }
      merged = machineConfig();
      merged.setAll(value);
    } else {
      for (String required : List.of("vcpu_count", "mem_size_mib")) {
        if (!value.has(required)) {
          throw new ApiException(
              source + ": missing `" + required + "`; PUT needs vcpu_count and mem_size_mib");
        }
      }
      merged = value;
    }
    ObjectNode candidate = document.deepCopy();
    candidate.set("machine-config", merged);
    commit(candidate, source);
    return HttpResponse.noContent();
  }

  /**
   * Returns the configuration for {@code GET /vm/config}, with the sections of Firecracker's
   * FullVmConfiguration. That schema has no {@code serial} section, so a {@code PUT /serial} does
   * not show here.
   */
  private ObjectNode fullConfig() {
    ObjectNode full = NODES.objectNode();
    for (String section :
        List.of(
            "balloon",
            "drives",
            "boot-source",
            "logger",
            "machine-config",
            "metrics",
            "mmds-config",
            "network-interfaces",
            "vsock",
            "entropy")) {
      if (section.equals("machine-config")) {
        full.set(section, machineConfig());
      } else if (document.has(section)) {
        full.set(section, document.get(section));
      }
    }
    if (!full.has("drives")) {
      full.putArray("drives");
    }
    return full;
  }

  private HttpResponse putLogger(byte[] body, String source) throws ApiException, ConfigException {
    requireNotStarted();
    ObjectNode value = bodyObject(body, source);
    ObjectNode candidate = document.deepCopy();
    candidate.set("logger", value);
    VmConfig parsed = VmConfigParser.parsePartial(candidate.toString(), source);
    LoggerConfig logger = parsed.logger();
    try {
      host.configureLogger(logger);
    } catch (IOException | RuntimeException e) {
      throw new ApiException(source + ": cannot set up logging: " + e.getMessage(), e);
    }
    document = candidate;
    return HttpResponse.noContent();
  }

  private HttpResponse putMetrics(byte[] body, String source) throws ApiException, ConfigException {
    requireNotStarted();
    ObjectNode value = bodyObject(body, source);
    Iterator<String> names = value.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (!name.equals("metrics_path")) {
        throw new ApiException(
            source + ": unknown field `" + name + "`; the only field is metrics_path");
      }
    }
    JsonNode path = value.get("metrics_path");
    if (path == null || !path.isTextual() || path.asText().isEmpty()) {
      throw new ApiException(source + ": `metrics_path` must be a non-empty path string");
    }
    try {
      host.configureMetrics(path.asText());
    } catch (IOException | RuntimeException e) {
      throw new ApiException(
          source + ": cannot open metrics_path " + path.asText() + ": " + e.getMessage(), e);
    }
    ObjectNode candidate = document.deepCopy();
    candidate.set("metrics", value);
    commit(candidate, source);
    return HttpResponse.noContent();
  }

  private HttpResponse putMmdsConfig(byte[] body, String source)
      throws ApiException, ConfigException {
    requireNotStarted();
    ObjectNode value = bodyObject(body, source);
    Iterator<String> names = value.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (!List.of("version", "network_interfaces", "ipv4_address", "imds_compat").contains(name)) {
        throw new ApiException(
            source
                + ": unknown field `"
                + name
                + "`; known fields are: imds_compat, ipv4_address, network_interfaces, version");
      }
    }
    JsonNode version = value.get("version");
    if (version != null
        && !(version.isTextual() && List.of("V1", "V2").contains(version.asText()))) {
      throw new ApiException(source + ": `version` is " + version + "; use \"V1\" or \"V2\"");
    }
    JsonNode interfaces = value.get("network_interfaces");
    if (!(interfaces instanceof ArrayNode list) || list.isEmpty()) {
      throw new ApiException(
          source + ": `network_interfaces` must list at least one iface_id that MMDS answers on");
    }
    ArrayNode configured =
        document.get("network-interfaces") instanceof ArrayNode ifaces ? ifaces : NODES.arrayNode();
    for (JsonNode iface : list) {
      if (!iface.isTextual() || indexOf(configured, "iface_id", iface.asText()) < 0) {
        throw new ApiException(
            source
                + ": network interface "
                + iface
                + " is not configured; PUT /network-interfaces/{id} first");
      }
    }
    JsonNode address = value.get("ipv4_address");
    if (address != null && !(address.isTextual() && isLinkLocal(address.asText()))) {
      throw new ApiException(
          source
              + ": `ipv4_address` "
              + address
              + " must be an IPv4 link-local address (169.254.0.0/16)");
    }
    ObjectNode candidate = document.deepCopy();
    candidate.set("mmds-config", value);
    commit(candidate, source);
    return HttpResponse.noContent();
  }

  private static boolean isLinkLocal(String address) {
    String[] octets = address.split("\\.", -1);
    if (octets.length != 4 || !octets[0].equals("169") || !octets[1].equals("254")) {
      return false;
    }
    for (String octet : octets) {
      if (octet.isEmpty() || octet.length() > 3 || !octet.chars().allMatch(Character::isDigit)) {
        return false;
      }
      if (Integer.parseInt(octet) > 255) {
        return false;
      }
    }
    return true;
  }

  private HttpResponse putMmds(byte[] body, String source, boolean patch)
      throws ApiException, ConfigException {
    if (body.length > mmdsSizeLimit) {
      throw new ApiException(
          String.format(
              "%s: the data store would be %d bytes, more than the limit of %d; send less data or"
                  + " raise --mmds-size-limit",
              source, body.length, mmdsSizeLimit));
    }
    ObjectNode value = bodyObject(body, source);
    JsonNode next;
    if (patch) {
      if (mmds == null) {
        throw new ApiException(
            source + ": the MMDS data store is not initialized; PUT /mmds first");
      }
      next = JsonMergePatch.apply(mmds, value);
    } else {
      next = value;
    }
    String unpaired = findUnpairedSurrogate(value);
    if (unpaired != null) {
      throw new ApiException(
          source
              + ": the string "
              + unpaired
              + " has an unpaired UTF-16 surrogate, which UTF-8 cannot hold; send valid Unicode");
    }
    int size = next.toString().getBytes(StandardCharsets.UTF_8).length;
    if (size > mmdsSizeLimit) {
      throw new ApiException(
          String.format(
              "%s: the data store would be %d bytes, more than the limit of %d; send less data or"
                  + " raise --mmds-size-limit",
              source, size, mmdsSizeLimit));
    }
    mmds = next;
    return HttpResponse.noContent();
  }

  /** Returns a JSON string (quoted) in {@code node} with an unpaired surrogate, or null. */
  private static String findUnpairedSurrogate(JsonNode node) {
    if (node.isTextual() && hasUnpairedSurrogate(node.asText())) {
      return HttpResponse.jsonString(node.asText());
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      if (hasUnpairedSurrogate(field.getKey())) {
        return HttpResponse.jsonString(field.getKey());
      }
      String found = findUnpairedSurrogate(field.getValue());
      if (found != null) {
        return found;
      }
    }
    if (node.isArray()) {
      for (JsonNode element : node) {
        String found = findUnpairedSurrogate(element);
        if (found != null) {
          return found;
        }
      }
    }
    return null;
  }

  private static boolean hasUnpairedSurrogate(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) {
          return true;
        }
        i++;
      } else if (Character.isLowSurrogate(c)) {
        return true;
      }
    }
    return false;
  }

  // --- Actions and the running VM ----------------------------------------------------------

  private HttpResponse action(byte[] body, String source) throws ApiException, ConfigException {
    ObjectNode value = bodyObject(body, source);
    JsonNode type = value.get("action_type");
    Iterator<String> names = value.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (!name.equals("action_type")) {
        throw new ApiException(
            source + ": unknown field `" + name + "`; the only field is action_type");
      }
    }
    if (type == null || !type.isTextual()) {
      throw new ApiException(
          source + ": missing `action_type`; use InstanceStart, SendCtrlAltDel or FlushMetrics");
    }
    switch (type.asText()) {
      case "InstanceStart" -> startInstance(source);
      case "SendCtrlAltDel" -> {
        requireStarted();
        vm.sendCtrlAltDel();
      }
      case "FlushMetrics" -> {
        // Firecracker flushes only a running VM's metrics and rejects the action before boot.
        requireStarted();
        boolean flushed;
        try {
          flushed = host.flushMetrics();
        } catch (IOException e) {
          throw new ApiException("Flushing the metrics failed: " + e.getMessage(), e);
        }
        if (!flushed) {
          throw new ApiException(
              "The metrics system is not initialized; PUT /metrics with a metrics_path first");
        }
      }
      default ->
          throw new ApiException(
              source
                  + ": `action_type` is "
                  + type
                  + "; use InstanceStart, SendCtrlAltDel or FlushMetrics");
    }
    return HttpResponse.noContent();
  }

  private void startInstance(String source) throws ApiException, ConfigException {
    requireNotStarted();
    if (!document.has("boot-source")) {
      throw new ApiException(
          "Cannot start the microVM without a boot source; PUT /boot-source first");
    }
    VmConfig config = VmConfigParser.parse(document.toString(), source);
    try {
      vm = host.startVm(config);
    } catch (VmStartException e) {
      throw new ApiException("Cannot start the microVM: " + e.getMessage(), e);
    }
    state = State.RUNNING;
  }

  private HttpResponse patchVm(byte[] body, String source) throws ApiException, ConfigException {
    ObjectNode value = bodyObject(body, source);
    requireStarted();
    JsonNode requested = value.get("state");
    if (value.size() != 1 || requested == null || !requested.isTextual()) {
      throw new ApiException(
          source + ": the body must be {\"state\": \"Paused\"} or {\"state\": \"Resumed\"}");
    }
    switch (requested.asText()) {
      case "Paused" -> {
        vm.pause();
        state = State.PAUSED;
      }
      case "Resumed" -> {
        vm.resume();
        state = State.RUNNING;
      }
      default ->
          throw new ApiException(
              source + ": `state` is " + requested + "; use \"Paused\" or \"Resumed\"");
    }
    return HttpResponse.noContent();
  }

  private HttpResponse patchDrive(String id, byte[] body, String source)
      throws ApiException, ConfigException {
    ObjectNode value = bodyObject(body, source);
    requireStarted();
    JsonNode bodyId = value.get("drive_id");
    if (bodyId == null || !bodyId.asText().equals(id)) {
      throw new ApiException(
          source + ": `drive_id` in the body must equal the id in the path (" + id + ")");
    }
    for (Iterator<String> names = value.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!List.of("drive_id", "path_on_host", "rate_limiter").contains(name)) {
        throw new ApiException(
            source
                + ": unknown field `"
                + name
                + "`; a drive PATCH takes drive_id, path_on_host, rate_limiter");
      }
    }
    ArrayNode drives = document.get("drives") instanceof ArrayNode list ? list : NODES.arrayNode();
    int index = indexOf(drives, "drive_id", id);
    if (index < 0) {
      throw new ApiException(source + ": there is no drive " + id);
    }
    ObjectNode candidate = document.deepCopy();
    ObjectNode drive = (ObjectNode) ((ArrayNode) candidate.get("drives")).get(index);
    if (value.has("path_on_host")) {
      drive.set("path_on_host", value.get("path_on_host"));
    }
    if (value.has("rate_limiter")) {
      drive.set("rate_limiter", value.get("rate_limiter"));
    }
    VmConfig parsed = validated(candidate, source);
    var config = parsed.driveList().get(index);
    try {
      vm.updateDrive(
          id,
          value.has("path_on_host") ? config.pathOnHost() : null,
          value.has("rate_limiter") ? config.rateLimiter() : null);
    } catch (IOException e) {
      throw new ApiException(source + ": " + e.getMessage(), e);
    }
    document = candidate;
    return HttpResponse.noContent();
  }

  private HttpResponse patchNetworkInterface(String id, byte[] body, String source)
      throws ApiException, ConfigException {
    ObjectNode value = bodyObject(body, source);
    requireStarted();
    JsonNode bodyId = value.get("iface_id");
    if (bodyId == null || !bodyId.asText().equals(id)) {
      throw new ApiException(
          source + ": `iface_id` in the body must equal the id in the path (" + id + ")");
    }
    ArrayNode ifaces =
        document.get("network-interfaces") instanceof ArrayNode list ? list : NODES.arrayNode();
    int index = indexOf(ifaces, "iface_id", id);
    if (index < 0) {
      throw new ApiException(source + ": there is no network interface " + id);
    }
    for (Iterator<String> names = value.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!List.of("iface_id", "rx_rate_limiter", "tx_rate_limiter").contains(name)) {
        throw new ApiException(
            source
                + ": unknown field `"
                + name
                + "`; a network interface PATCH takes iface_id, rx_rate_limiter,"
                + " tx_rate_limiter");
      }
    }
    ObjectNode candidate = document.deepCopy();
    ObjectNode iface = (ObjectNode) ((ArrayNode) candidate.get("network-interfaces")).get(index);
    for (String limiter : List.of("rx_rate_limiter", "tx_rate_limiter")) {
      if (value.has(limiter)) {
        iface.set(limiter, value.get(limiter));
      }
    }
    VmConfig parsed = validated(candidate, source);
    var config = parsed.networkInterfaceList().get(index);
    try {
      vm.updateNetworkInterface(
          id,
          value.has("rx_rate_limiter") ? config.rxRateLimiter() : null,
          value.has("tx_rate_limiter") ? config.txRateLimiter() : null);
    } catch (IOException e) {
      throw new ApiException(source + ": " + e.getMessage(), e);
    }
    document = candidate;
    return HttpResponse.noContent();
  }

  private BalloonDevice balloonDevice(String source) throws ApiException {
    if (!document.has("balloon")) {
      throw new ApiException(source + ": no balloon device is configured; PUT /balloon first");
    }
    return vm == null ? null : vm.balloon();
  }

  private HttpResponse getBalloon() throws ApiException {
    balloonDevice("GET /balloon");
    ObjectNode balloon = ((ObjectNode) document.get("balloon")).deepCopy();
    return json(balloon);
  }

  private HttpResponse patchBalloon(byte[] body, String source)
      throws ApiException, ConfigException {
    ObjectNode value = bodyObject(body, source);
    BalloonDevice device = balloonDevice(source);
    // Before boot, Firecracker changes the target only through PUT /balloon.
    requireStarted();
    JsonNode amount = value.get("amount_mib");
    if (value.size() != 1 || amount == null || !amount.canConvertToLong()) {
      throw new ApiException(source + ": the body must be {\"amount_mib\": N}");
    }
    ObjectNode candidate = document.deepCopy();
    ((ObjectNode) candidate.get("balloon")).set("amount_mib", amount);
    commit(candidate, source);
    if (device != null) {
      device.setTargetMib(amount.asLong());
    }
    return HttpResponse.noContent();
  }

  private HttpResponse balloonStatistics() throws ApiException {
    BalloonDevice device = balloonDevice("GET /balloon/statistics");
    if (document.get("balloon").path("stats_polling_interval_s").asInt(0) == 0) {
      throw new ApiException(
          "GET /balloon/statistics: statistics are disabled; set stats_polling_interval_s");
    }
    ObjectNode stats = NODES.objectNode();
    if (device == null) {
      throw new ApiException(NOT_BEFORE_BOOT);
    }
    stats.put("target_pages", device.targetPages());
    stats.put("actual_pages", device.actualPages());
    stats.put("target_mib", device.targetPages() / 256);
    stats.put("actual_mib", device.actualPages() / 256);
    for (Map.Entry<Integer, Long> entry : device.stats().entrySet()) {
      String name = BalloonStatNames.name(entry.getKey());
      if (name != null) {
        stats.put(name, entry.getValue());
      }
    }
    return json(stats);
  }

  private HttpResponse patchBalloonStatistics(byte[] body, String source)
      throws ApiException, ConfigException {
    ObjectNode value = bodyObject(body, source);
    balloonDevice(source);
    requireStarted();
    JsonNode interval = value.get("stats_polling_interval_s");
    if (value.size() != 1 || interval == null || !interval.canConvertToInt()) {
      throw new ApiException(source + ": the body must be {\"stats_polling_interval_s\": N}");
    }
    int seconds = interval.asInt();
    int current = document.get("balloon").path("stats_polling_interval_s").asInt(0);
    if ((current == 0) != (seconds == 0)) {
      throw new ApiException(
          source
              + ": statistics were "
              + (current == 0 ? "disabled" : "enabled")
              + " when the VM started and cannot be turned "
              + (current == 0 ? "on" : "off")
              + " now; give an interval of at least 1 second");
    }
    ObjectNode candidate = document.deepCopy();
    ((ObjectNode) candidate.get("balloon")).put("stats_polling_interval_s", seconds);
    commit(candidate, source);
    try {
      vm.setBalloonStatsInterval(seconds);
    } catch (SyscallException | IllegalStateException e) {
      throw new ApiException(source + ": " + e.getMessage(), e);
    }
    return HttpResponse.noContent();
  }

  // --- Responses ---------------------------------------------------------------------------

  private String instanceInfo() {
    return NODES
        .objectNode()
        .put("id", instanceId)
        .put("state", state.apiName)
        .put("vmm_version", version)
        .put("app_name", "Kiln")
        .toString();
  }

  private static HttpResponse json(JsonNode node) {
    return HttpResponse.ok(node.toString());
  }
}
