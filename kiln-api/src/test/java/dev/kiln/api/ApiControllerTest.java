package dev.kiln.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.api.http.HttpRequest;
import dev.kiln.api.http.HttpResponse;
import dev.kiln.vmm.config.DriveConfig;
import dev.kiln.vmm.config.VmConfig;
import dev.kiln.vmm.config.VmConfigParser;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ApiControllerTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long MMDS_LIMIT = 200;

  @TempDir Path directory;

  private final FakeApiHost host = new FakeApiHost();
  private String rootfsBody;

  @BeforeEach
  void createDriveFiles() throws Exception {
    for (String name : List.of("rootfs.ext4", "other.ext4", "data.img")) {
      Files.write(directory.resolve(name), new byte[4096]);
    }
    rootfsBody = driveBody("rootfs", "rootfs.ext4", true);
  }

  /** Returns the path of a kernel file in the test directory, creating it on first use. */
  private Path kernel() {
    Path kernel = directory.resolve("vmlinux");
    try {
      if (!Files.exists(kernel)) {
        Files.write(kernel, new byte[] {0x7f, 'E', 'L', 'F'});
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return kernel;
  }

  /** Returns a PUT /boot-source body with the test kernel. */
  private String bootSource() {
    return "{\"kernel_image_path\": \"" + kernel() + "\", \"boot_args\": \"console=ttyS0\"}";
  }

  /** Returns a PUT /drives body for a file in the test directory. */
  private String driveBody(String id, String file, boolean root) {
    return String.format(
        "{\"drive_id\": \"%s\", \"path_on_host\": \"%s\", \"is_root_device\": %b,"
            + " \"is_read_only\": false}",
        id, directory.resolve(file), root);
  }

  private final ApiController api = new ApiController("vm-7", "0.1.0", host, MMDS_LIMIT);

  static HttpResponse call(ApiController api, String method, String path, String body) {
    byte[] bytes = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    return api.handle(new HttpRequest(method, path, Map.of(), bytes));
  }

  private HttpResponse call(String method, String path, String body) {
    return call(api, method, path, body);
  }

  private HttpResponse get(String path) {
    return call("GET", path, null);
  }

  private JsonNode getJson(String path) throws Exception {
    HttpResponse response = get(path);
    assertThat(response.status()).as("GET %s: %s", path, response.body()).isEqualTo(200);
    return JSON.readTree(response.body());
  }

  private void assertNoContent(String method, String path, String body) {
    HttpResponse response = call(method, path, body);
    assertThat(response.status()).as("%s %s: %s", method, path, response.body()).isEqualTo(204);
    assertThat(response.body()).isNull();
  }

  /** Asserts a 400 whose body is exactly {"fault_message": string} and returns the message. */
  static String faultMessage(HttpResponse response) throws Exception {
    assertThat(response.status()).as(response.body()).isEqualTo(400);
    JsonNode body = JSON.readTree(response.body());
    assertThat(body.isObject()).isTrue();
    assertThat(body.size()).as(response.body()).isEqualTo(1);
    assertThat(body.get("fault_message").isTextual()).as(response.body()).isTrue();
    return body.get("fault_message").asText();
  }

  private String rejected(String method, String path, String body) throws Exception {
    return faultMessage(call(method, path, body));
  }

  private void start() {
    assertNoContent("PUT", "/boot-source", bootSource());
    assertNoContent("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}");
  }

  // --- Instance information ----------------------------------------------------------------

  @Test
  void instanceInfoBeforeBoot() throws Exception {
    JsonNode info = getJson("/");

    assertThat(info.get("id").asText()).isEqualTo("vm-7");
    assertThat(info.get("state").asText()).isEqualTo("Not started");
    assertThat(info.get("vmm_version").asText()).isEqualTo("0.1.0");
    assertThat(info.get("app_name").asText()).isEqualTo("Kiln");
  }

  @Test
  void versionReturnsFirecrackerVersionField() throws Exception {
    assertThat(getJson("/version").get("firecracker_version").asText())
        .isEqualTo(ApiController.FIRECRACKER_API_VERSION);
  }

  // --- Machine configuration ---------------------------------------------------------------

  @Test
  void machineConfigDefaults() throws Exception {
    JsonNode machine = getJson("/machine-config");

    assertThat(machine.get("vcpu_count").asInt()).isEqualTo(1);
    assertThat(machine.get("mem_size_mib").asInt()).isEqualTo(128);
    assertThat(machine.has("cpu_template")).isFalse();
  }

  @Test
  void putMachineConfigReplacesIt() throws Exception {
    assertNoContent("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256}");

    JsonNode machine = getJson("/machine-config");
    assertThat(machine.get("vcpu_count").asInt()).isEqualTo(2);
    assertThat(machine.get("mem_size_mib").asInt()).isEqualTo(256);
  }

  @Test
  void putMachineConfigNeedsBothSizes() throws Exception {
    assertThat(rejected("PUT", "/machine-config", "{\"vcpu_count\": 2}")).contains("mem_size_mib");
    assertThat(rejected("PUT", "/machine-config", "{\"mem_size_mib\": 2}")).contains("vcpu_count");
  }

  @Test
  void invalidMachineConfigLeavesOldOne() throws Exception {
    assertNoContent("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256}");

    assertThat(rejected("PUT", "/machine-config", "{\"vcpu_count\": 0, \"mem_size_mib\": 64}"))
        .contains("vcpu_count");
    assertThat(rejected("PATCH", "/machine-config", "{\"smt\": true, \"vcpu_count\": 3}"))
        .contains("smt");

    assertThat(getJson("/machine-config").get("vcpu_count").asInt()).isEqualTo(2);
  }

  @Test
  void patchMachineConfigMergesFields() throws Exception {
    assertNoContent(
        "PUT",
        "/machine-config",
        "{\"vcpu_count\": 2, \"mem_size_mib\": 256, \"track_dirty_pages\": true}");
    assertNoContent("PATCH", "/machine-config", "{\"mem_size_mib\": 512}");

    JsonNode machine = getJson("/machine-config");
    assertThat(machine.get("vcpu_count").asInt()).isEqualTo(2);
    assertThat(machine.get("mem_size_mib").asInt()).isEqualTo(512);
    assertThat(machine.get("track_dirty_pages").asBoolean()).isTrue();
  }

  @Test
  void patchMachineConfigOnDefaults() throws Exception {
    assertNoContent("PATCH", "/machine-config", "{\"vcpu_count\": 4}");

    JsonNode machine = getJson("/machine-config");
    assertThat(machine.get("vcpu_count").asInt()).isEqualTo(4);
    assertThat(machine.get("mem_size_mib").asInt()).isEqualTo(128);
  }

  @Test
  void emptyPatchMachineConfigIsRejected() throws Exception {
    assertThat(rejected("PATCH", "/machine-config", "{}")).contains("no field");
  }

  @Test
  void unknownMachineConfigFieldIsNamed() throws Exception {
    assertThat(
            rejected(
                "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"gpus\": 1}"))
        .contains("unknown field `gpus`");
  }

  @Test
  void wrongTypeIsNamed() throws Exception {
    assertThat(
            rejected("PUT", "/machine-config", "{\"vcpu_count\": \"two\", \"mem_size_mib\": 64}"))
        .contains("vcpu_count");
  }

  // --- Boot source, drives and other sections ----------------------------------------------

  @Test
  void bootSourceNeedsKernelPath() throws Exception {
    assertThat(rejected("PUT", "/boot-source", "{\"boot_args\": \"console=ttyS0\"}"))
        .contains("kernel_image_path");
  }

  @Test
  void missingKernelIsRejectedAtPut() throws Exception {
    String missing = directory.resolve("no-such-kernel").toString();

    assertThat(rejected("PUT", "/boot-source", "{\"kernel_image_path\": \"" + missing + "\"}"))
        .contains(missing)
        .contains("does not exist");
  }

  @Test
  void directoryAsKernelIsRejectedAtPut() throws Exception {
    assertThat(rejected("PUT", "/boot-source", "{\"kernel_image_path\": \"" + directory + "\"}"))
        .contains("not a readable regular file");
  }

  @Test
  void bootArgsWithControlCharacterAreRejected() throws Exception {
    assertThat(
            rejected(
                "PUT",
                "/boot-source",
                "{\"kernel_image_path\": \"" + kernel() + "\", \"boot_args\": \"a\\nb\"}"))
        .contains("boot_args");
  }

  @Test
  void driveIdMismatchNamesBothIds() throws Exception {
    String message = rejected("PUT", "/drives/scratch", rootfsBody);

    assertThat(message).contains("scratch").contains("rootfs");
  }

  @Test
  void emptyDriveIdIsRejected() throws Exception {
    String body = driveBody("", "data.img", false);

    rejected("PUT", "/drives/", body);
    assertThat(getJson("/vm/config").get("drives")).isEmpty();
  }

  @Test
  void driveWithoutIdIsRejected() throws Exception {
    assertThat(rejected("PUT", "/drives/rootfs", "{\"path_on_host\": \"/x\"}"))
        .contains("drive_id");
  }

  @Test
  void putDriveTwiceReplacesIt() throws Exception {
    assertNoContent("PUT", "/drives/rootfs", rootfsBody);
    assertNoContent("PUT", "/drives/rootfs", driveBody("rootfs", "other.ext4", true));
    assertNoContent("PUT", "/drives/data", driveBody("data", "data.img", false));

    JsonNode drives = getJson("/vm/config").get("drives");
    assertThat(drives).hasSize(2);
    assertThat(drives.get(0).get("path_on_host").asText())
        .isEqualTo(directory.resolve("other.ext4").toString());
    assertThat(drives.get(1).get("drive_id").asText()).isEqualTo("data");
  }

  @Test
  void secondRootDriveIsRejected() throws Exception {
    assertNoContent("PUT", "/drives/rootfs", rootfsBody);

    assertThat(rejected("PUT", "/drives/other", driveBody("other", "other.ext4", true)))
        .contains("root");
    assertThat(getJson("/vm/config").get("drives")).hasSize(1);
  }

  @Test
  void loggerIsAppliedThroughHost() throws Exception {
    assertNoContent("PUT", "/logger", "{\"level\": \"Debug\", \"show_level\": true}");

    assertThat(host.loggers).hasSize(1);
    assertThat(host.loggers.getFirst().level()).isEqualTo("Debug");
  }

  @Test
  void invalidLoggerLevelIsNotApplied() throws Exception {
    assertThat(rejected("PUT", "/logger", "{\"level\": \"Loud\"}")).contains("Loud");

    assertThat(host.loggers).isEmpty();
  }

  @Test
  void metricsPathIsOpenedThroughHost() throws Exception {
    assertNoContent("PUT", "/metrics", "{\"metrics_path\": \"/tmp/metrics.fifo\"}");

    assertThat(host.metricsPaths).containsExactly("/tmp/metrics.fifo");
  }

  @Test
  void metricsFailureIsReported() throws Exception {
    host.metricsFailure = "Permission denied";

    assertThat(rejected("PUT", "/metrics", "{\"metrics_path\": \"/root/m\"}"))
        .contains("Permission denied");
  }

  @Test
  void metricsUnknownFieldIsRejected() throws Exception {
    assertThat(rejected("PUT", "/metrics", "{\"metrics_path\": \"/m\", \"x\": 1}"))
        .contains("unknown field `x`");
    assertThat(host.metricsPaths).isEmpty();
  }

  @Test
  void balloonRoundTrips() throws Exception {
    assertThat(rejected("GET", "/balloon", null)).contains("balloon");
    assertNoContent(
        "PUT",
        "/balloon",
        "{\"amount_mib\": 16, \"deflate_on_oom\": true, \"stats_polling_interval_s\": 1}");

    JsonNode balloon = getJson("/balloon");
    assertThat(balloon.get("amount_mib").asInt()).isEqualTo(16);
    assertThat(balloon.get("deflate_on_oom").asBoolean()).isTrue();
  }

  @Test
  void entropyAndSerialAreAccepted() throws Exception {
    assertNoContent("PUT", "/entropy", "{}");
    assertNoContent("PUT", "/serial", "{\"serial_out_path\": \"/tmp/serial.log\"}");

    JsonNode config = getJson("/vm/config");
    assertThat(config.has("entropy")).isTrue();
    // Firecracker's FullVmConfiguration schema has no serial section.
    assertThat(config.has("serial")).isFalse();
  }

  // --- Features Kiln does not have yet ----------------------------------------------------

  @Test
  void networkInterfaceStoredInConfig() throws Exception {
    assertNoContent(
        "PUT",
        "/network-interfaces/eth0",
        "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\","
            + " \"guest_mac\": \"06:00:ac:10:00:02\"}");

    JsonNode ifaces = getJson("/vm/config").get("network-interfaces");
    assertThat(ifaces).hasSize(1);
    assertThat(ifaces.get(0).get("host_dev_name").asText()).isEqualTo("tap0");
  }

  @Test
  void malformedGuestMacRejected() throws Exception {
    String message =
        rejected(
            "PUT",
            "/network-interfaces/eth0",
            "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": \"zz\"}");

    assertThat(message).contains("zz");
  }

  @Test
  void networkInterfaceUpdateIsRejected() throws Exception {
    start();

    assertThat(rejected("PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\"}"))
        .contains("eth0");
    assertThat(rejected("PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth1\"}"))
        .contains("eth0");
  }

  @Test
  void vsockIsStoredAndShownInTheConfiguration() throws Exception {
    String path = directory.resolve("v.sock").toString();
    assertNoContent("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"" + path + "\"}");

    assertThat(getJson("/vm/config").get("vsock").get("uds_path").asText()).isEqualTo(path);
  }

  @Test
  void vsockWithHostCidIsRejected() throws Exception {
    String path = directory.resolve("v.sock").toString();
    assertThat(rejected("PUT", "/vsock", "{\"guest_cid\": 2, \"uds_path\": \"" + path + "\"}"))
        .contains("guest_cid");
  }

  @ParameterizedTest
  @CsvSource({
    "PUT, /cpu-config, '{}'",
    "PUT, /snapshot/create, '{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\"}'",
    "PUT, /snapshot/load, '{\"snapshot_path\": \"/s\"}'",
    "PUT, /hotplug/memory, '{\"total_size_mib\": 1024}'",
    "PATCH, /hotplug/memory, '{\"requested_size_mib\": 512}'",
    "GET, /hotplug/memory, ''",
    "PUT, /pmem/p0, '{\"id\": \"p0\", \"path_on_host\": \"/p\"}'",
    "PATCH, /balloon/hinting/start, '{}'",
    "GET, /balloon/hinting/status, ''",
    "PATCH, /balloon/hinting/stop, '{}'",
  })
  void unsupportedFeatureIsRejected(String method, String path, String body) throws Exception {
    assertThat(rejected(method, path, body.isEmpty() ? null : body))
        .contains("not supported by Kiln yet");
  }

  @ParameterizedTest
  @CsvSource({
    "GET, /nope",
    "GET, /machine-config/extra",
    "DELETE, /machine-config",
    "POST, /actions",
    "GET, /actions",
    "PUT, /",
    "GET, /vm/state",
    "GET, /drives",
    "GET, //",
  })
  void unknownPathOrMethodIsRejected(String method, String path) throws Exception {
    assertThat(rejected(method, path, "{}")).contains("Invalid request method and/or path");
  }

  // --- Request bodies ----------------------------------------------------------------------

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "{\"kernel_image_path\": ",
        "{\"kernel_image_path\": \"/k\"} trailing",
        "[1, 2]",
        "null",
        "\"text\"",
        "'   '",
        "{\"kernel_image_path\": \"/k\", \"kernel_image_path\": \"/j\"}",
      })
  void malformedBodyIsRejected(String body) throws Exception {
    rejected("PUT", "/boot-source", body);

    assertThat(getJson("/vm/config").has("boot-source")).isFalse();
  }

  @Test
  void missingBodyIsRejected() throws Exception {
    assertThat(rejected("PUT", "/boot-source", null)).contains("empty");
  }

  @Test
  void invalidUtf8BodyIsRejected() throws Exception {
    byte[] body = {'{', '"', 'a', '"', ':', '"', (byte) 0xff, '"', '}'};

    HttpResponse response = api.handle(new HttpRequest("PUT", "/entropy", Map.of(), body));
    faultMessage(response);
  }

  // --- Full configuration ------------------------------------------------------------------

  @Test
  void vmConfigRoundTripsThroughConfigParser() throws Exception {
    assertNoContent("PUT", "/boot-source", bootSource());
    assertNoContent("PUT", "/drives/rootfs", rootfsBody);
    assertNoContent("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256}");
    assertNoContent("PATCH", "/machine-config", "{\"track_dirty_pages\": true}");
    assertNoContent("PUT", "/balloon", "{\"amount_mib\": 8, \"deflate_on_oom\": false}");
    assertNoContent("PUT", "/entropy", "{}");

    HttpResponse response = get("/vm/config");
    VmConfig config = VmConfigParser.parse(response.body(), "GET /vm/config");

    assertThat(config.bootSource().kernelImagePath()).isEqualTo(kernel().toString());
    assertThat(config.bootSource().bootArgs()).isEqualTo("console=ttyS0");
    assertThat(config.machine().vcpuCount()).isEqualTo(2);
    assertThat(config.machine().memSizeMib()).isEqualTo(256);
    assertThat(config.machine().trackDirtyPages()).isTrue();
    assertThat(config.driveList()).extracting(DriveConfig::driveId).containsExactly("rootfs");
    assertThat(config.balloon().amountMib()).isEqualTo(8);
    assertThat(config.entropy()).isNotNull();
  }

  @Test
  void vmConfigOfStartedVmMatchesWhatStarted() throws Exception {
    assertNoContent("PUT", "/drives/rootfs", rootfsBody);
    start();

    VmConfig fromApi = VmConfigParser.parse(get("/vm/config").body(), "GET /vm/config");
    VmConfig started = host.started.getFirst();
    assertThat(fromApi.bootSource()).isEqualTo(started.bootSource());
    assertThat(fromApi.machine()).isEqualTo(started.machine());
    assertThat(fromApi.driveList()).isEqualTo(started.driveList());
  }

  // --- Actions and the pre-boot and post-boot rules ----------------------------------------

  @Test
  void instanceStartNeedsBootSource() throws Exception {
    assertThat(rejected("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"))
        .contains("boot source");

    assertThat(host.started).isEmpty();
    assertThat(getJson("/").get("state").asText()).isEqualTo("Not started");
  }

  @Test
  void instanceStartPassesConfigToHost() throws Exception {
    assertNoContent("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 300}");
    start();

    assertThat(host.started).hasSize(1);
    assertThat(host.started.getFirst().machine().memSizeMib()).isEqualTo(300);
    assertThat(host.started.getFirst().bootSource().kernelImagePath())
        .isEqualTo(kernel().toString());
    assertThat(getJson("/").get("state").asText()).isEqualTo("Running");
  }

  @Test
  void failedStartCanBeRetried() throws Exception {
    assertNoContent("PUT", "/boot-source", bootSource());
    host.startFailure = "kernel image /guest/vmlinux not found";

    assertThat(rejected("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"))
        .contains("not found");
    assertThat(getJson("/").get("state").asText()).isEqualTo("Not started");

    assertNoContent("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}");
    assertThat(getJson("/").get("state").asText()).isEqualTo("Running");
  }

  @Test
  void secondInstanceStartIsRejected() throws Exception {
    start();

    assertThat(rejected("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"))
        .isEqualTo(ApiController.NOT_AFTER_BOOT);
    assertThat(host.started).hasSize(1);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "PUT | /boot-source | {\"kernel_image_path\": \"/other\"}",
        "PUT | /machine-config | {\"vcpu_count\": 1, \"mem_size_mib\": 64}",
        "PATCH | /machine-config | {\"mem_size_mib\": 64}",
        "PUT | /drives/rootfs | {\"drive_id\": \"rootfs\", \"path_on_host\": \"/r\","
            + " \"is_root_device\": true, \"is_read_only\": false}",
        "PUT | /logger | {\"level\": \"Info\"}",
        "PUT | /metrics | {\"metrics_path\": \"/m\"}",
        "PUT | /balloon | {\"amount_mib\": 1, \"deflate_on_oom\": false}",
        "PUT | /entropy | {}",
        "PUT | /serial | {}",
        "PUT | /mmds/config | {\"network_interfaces\": [\"eth0\"]}",
      })
  void preBootRequestAfterBootIsRejected(String method, String path, String body) throws Exception {
    start();

    assertThat(rejected(method, path, body)).isEqualTo(ApiController.NOT_AFTER_BOOT);
    assertThat(host.loggers).isEmpty();
    assertThat(host.metricsPaths).isEmpty();
  }

  @Test
  void readsWorkAfterBoot() throws Exception {
    start();

    assertThat(getJson("/machine-config").get("vcpu_count").asInt()).isEqualTo(1);
    assertThat(getJson("/vm/config").get("boot-source").get("kernel_image_path").asText())
        .isEqualTo(kernel().toString());
    assertThat(getJson("/version").has("firecracker_version")).isTrue();
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "PUT | /actions | {\"action_type\": \"SendCtrlAltDel\"}",
        "PUT | /actions | {\"action_type\": \"FlushMetrics\"}",
        "PATCH | /vm | {\"state\": \"Paused\"}",
        "PATCH | /vm | {\"state\": \"Resumed\"}",
        "PATCH | /drives/rootfs | {\"drive_id\": \"rootfs\", \"path_on_host\": \"/x\"}",
        "PATCH | /balloon | {\"amount_mib\": 4}",
        "PATCH | /balloon/statistics | {\"stats_polling_interval_s\": 2}",
        "GET | /balloon/statistics | ",
      })
  void postBootRequestBeforeBootIsRejected(String method, String path, String body)
      throws Exception {
    assertNoContent("PUT", "/drives/rootfs", rootfsBody);
    assertNoContent(
        "PUT",
        "/balloon",
        "{\"amount_mib\": 8, \"deflate_on_oom\": false, \"stats_polling_interval_s\": 1}");
    host.metricsPaths.add("/tmp/metrics");

    assertThat(rejected(method, path, body)).isEqualTo(ApiController.NOT_BEFORE_BOOT);
    assertThat(host.flushes).isZero();
    assertThat(getJson("/balloon").get("amount_mib").asInt()).isEqualTo(8);
  }

  @Test
  void flushMetricsAfterBootWritesThroughHost() throws Exception {
    assertNoContent("PUT", "/metrics", "{\"metrics_path\": \"/tmp/m\"}");
    start();

    assertNoContent("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}");
    assertThat(host.flushes).isEqualTo(1);
  }

  @Test
  void flushMetricsWithoutMetricsIsRejected() throws Exception {
    start();

    assertThat(rejected("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}"))
        .contains("metrics");
  }

  @Test
  void invalidVmStateIsRejectedAfterBoot() throws Exception {
    start();

    assertThat(rejected("PATCH", "/vm", "{\"state\": \"Stopped\"}")).contains("Stopped");
    assertThat(rejected("PATCH", "/vm", "{\"state\": \"Paused\", \"x\": 1}")).contains("state");
    assertThat(getJson("/").get("state").asText()).isEqualTo("Running");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "{}",
        "{\"action_type\": \"Reboot\"}",
        "{\"action_type\": 1}",
        "{\"action_type\": \"InstanceStart\", \"payload\": {}}",
      })
  void invalidActionIsRejected(String body) throws Exception {
    assertNoContent("PUT", "/boot-source", bootSource());

    assertThat(rejected("PUT", "/actions", body)).contains("action");
    assertThat(host.started).isEmpty();
  }

  // --- MMDS --------------------------------------------------------------------------------

  @Test
  void mmdsIsNotFoundBeforePut() throws Exception {
    HttpResponse response = get("/mmds");

    assertThat(response.status()).isEqualTo(404);
    assertThat(JSON.readTree(response.body()).get("fault_message").isTextual()).isTrue();
  }

  @Test
  void mmdsKeepsNumbersExactly() throws Exception {
    assertNoContent("PUT", "/mmds", "{\"big\": 1e400, \"small\": 1.5e-400}");

    String body = get("/mmds").body();
    assertThat(body).contains("\"big\":1E+400");
    assertThat(body).contains("\"small\":1.5E-400");
  }

  @Test
  void mmdsRejectsUnpairedSurrogate() throws Exception {
    assertThat(rejected("PUT", "/mmds", "{\"s\": \"\\ud800\"}")).contains("unpaired");
  }

  @Test
  void mmdsPutThenGet() throws Exception {
    assertNoContent("PUT", "/mmds", "{\"latest\": {\"meta-data\": {\"ami-id\": \"ami-1\"}}}");

    assertThat(getJson("/mmds"))
        .isEqualTo(JSON.readTree("{\"latest\": {\"meta-data\": {\"ami-id\": \"ami-1\"}}}"));
  }

  @Test
  void mmdsPatchIsMergePatch() throws Exception {
    assertNoContent("PUT", "/mmds", "{\"a\": {\"b\": 1, \"c\": 2}, \"d\": [1, 2], \"e\": \"x\"}");
    assertNoContent("PATCH", "/mmds", "{\"a\": {\"b\": null, \"f\": 3}, \"d\": [3], \"e\": null}");

    assertThat(getJson("/mmds"))
        .isEqualTo(JSON.readTree("{\"a\": {\"c\": 2, \"f\": 3}, \"d\": [3]}"));
  }

  @Test
  void mmdsPatchBeforePutIsRejected() throws Exception {
    assertThat(rejected("PATCH", "/mmds", "{\"a\": 1}")).contains("not initialized");
    assertThat(get("/mmds").status()).isEqualTo(404);
  }

  @Test
  void mmdsPutOverLimitKeepsOldStore() throws Exception {
    assertNoContent("PUT", "/mmds", "{\"small\": 1}");

    String big = "{\"big\": \"" + "x".repeat((int) MMDS_LIMIT) + "\"}";
    assertThat(rejected("PUT", "/mmds", big)).contains("--mmds-size-limit");
    assertThat(getJson("/mmds")).isEqualTo(JSON.readTree("{\"small\": 1}"));
  }

  @Test
  void mmdsPatchOverLimitKeepsOldStore() throws Exception {
    String half = "x".repeat((int) MMDS_LIMIT / 2);
    assertNoContent("PUT", "/mmds", "{\"a\": \"" + half + "\"}");

    assertThat(rejected("PATCH", "/mmds", "{\"b\": \"" + half + "\"}"))
        .contains("--mmds-size-limit");
    assertThat(getJson("/mmds").has("b")).isFalse();
  }

  @Test
  void mmdsWorksAfterBoot() throws Exception {
    start();

    assertNoContent("PUT", "/mmds", "{\"k\": \"v\"}");
    assertNoContent("PATCH", "/mmds", "{\"k\": \"w\"}");
    assertThat(getJson("/mmds").get("k").asText()).isEqualTo("w");
  }

  @Test
  void mmdsConfigNeedsConfiguredInterface() throws Exception {
    assertThat(rejected("PUT", "/mmds/config", "{\"network_interfaces\": [\"eth0\"]}"))
        .contains("eth0");
  }

  @Test
  void metadataFileSeedsMmds() throws Exception {
    api.loadMetadata("{\"seed\": true}", "meta.json");

    assertThat(getJson("/mmds").get("seed").asBoolean()).isTrue();
  }
}
