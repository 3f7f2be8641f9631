package dev.kiln.vmm.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.vmm.ratelimiter.RateLimiterConfig;
import dev.kiln.vmm.ratelimiter.TokenBucketConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The configuration format is Firecracker's {@code --config-file} JSON. */
class VmConfigParserTest {
  private static final String SOURCE = "vm.json";
  private static final String BOOT_SOURCE = "\"boot-source\": {\"kernel_image_path\": \"vmlinux\"}";

  private static final String FULL_CONFIG =
      """
      {
        "boot-source": {
          "kernel_image_path": "/images/vmlinux",
          "boot_args": "console=ttyS0 reboot=k",
          "initrd_path": "/images/initrd.cpio"
        },
        "machine-config": {
          "vcpu_count": 4,
          "mem_size_mib": 1024,
          "smt": true,
          "track_dirty_pages": true,
          "huge_pages": "2M",
          "cpu_template": "None"
        },
        "logger": {
          "log_path": "/tmp/kiln.log",
          "level": "Debug",
          "show_level": true,
          "show_log_origin": false,
          "module": "dev.kiln.vmm"
        },
        "serial": {"serial_out_path": "/tmp/serial.out"},
        "drives": [],
        "network-interfaces": []
      }
      """;

  @TempDir Path directory;

  private static VmConfig parse(String json) throws ConfigException {
    return VmConfigParser.parse(json, SOURCE);
  }

  /** Returns a config with the boot source and one more top-level field. */
  private static String withBootSource(String field) {
    return "{" + BOOT_SOURCE + ", " + field + "}";
  }

  /** Returns a config with the boot source and the given machine-config body. */
  private static String withMachine(String body) {
    return withBootSource("\"machine-config\": {" + body + "}");
  }

  private static AbstractThrowableAssert<?, ? extends Throwable> assertRejected(String json) {
    return assertThatThrownBy(() -> parse(json))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(SOURCE);
  }

  // Valid configurations

  @Test
  void fullConfigParsesBootSource() throws ConfigException {
    BootSourceConfig boot = parse(FULL_CONFIG).bootSource();

    assertThat(boot.kernelImagePath()).isEqualTo("/images/vmlinux");
    assertThat(boot.bootArgs()).isEqualTo("console=ttyS0 reboot=k");
    assertThat(boot.initrdPath()).isEqualTo("/images/initrd.cpio");
  }

  @Test
  void fullConfigParsesMachine() throws ConfigException {
    MachineConfig machine = parse(FULL_CONFIG).machine();

    assertThat(machine.vcpuCount()).isEqualTo(4);
    assertThat(machine.memSizeMib()).isEqualTo(1024);
    assertThat(machine.smtEnabled()).isTrue();
    assertThat(machine.dirtyPageTracking()).isTrue();
    assertThat(machine.hugePageSetting()).isEqualTo(HugePages.HUGE_2M);
    assertThat(machine.cpuTemplate()).isEqualTo("None");
  }

  @Test
  void fullConfigParsesLogger() throws ConfigException {
    LoggerConfig logger = parse(FULL_CONFIG).logger();

    assertThat(logger.logPath()).isEqualTo("/tmp/kiln.log");
    assertThat(logger.level()).isEqualTo("Debug");
    assertThat(logger.showLevel()).isTrue();
    assertThat(logger.showLogOrigin()).isFalse();
    assertThat(logger.module()).isEqualTo("dev.kiln.vmm");
  }

  @Test
  void fullConfigParsesSerial() throws ConfigException {
    SerialConfig serial = parse(FULL_CONFIG).serial();

    assertThat(serial.serialOutPath()).isEqualTo("/tmp/serial.out");
    assertThat(serial.rateLimiter()).isNull();
  }

  @Test
  void missingMachineConfigUsesDefaults() throws ConfigException {
    VmConfig config = parse("{" + BOOT_SOURCE + "}");

    assertThat(config.machineConfig()).isNull();
    assertThat(config.machine().vcpuCount()).isEqualTo(1);
    assertThat(config.machine().memSizeMib()).isEqualTo(128);
    assertThat(config.machine().smtEnabled()).isFalse();
    assertThat(config.machine().dirtyPageTracking()).isFalse();
    assertThat(config.machine().hugePageSetting()).isEqualTo(HugePages.NONE);
  }

  @Test
  void minimalBootSourceOptionalFieldsNull() throws ConfigException {
    BootSourceConfig boot = parse("{" + BOOT_SOURCE + "}").bootSource();

    assertThat(boot.kernelImagePath()).isEqualTo("vmlinux");
    assertThat(boot.bootArgs()).isNull();
    assertThat(boot.initrdPath()).isNull();
  }

  @Test
  void machineOptionalFieldsDefault() throws ConfigException {
    MachineConfig machine = parse(withMachine("\"vcpu_count\": 3, \"mem_size_mib\": 64")).machine();

    assertThat(machine.smtEnabled()).isFalse();
    assertThat(machine.dirtyPageTracking()).isFalse();
    assertThat(machine.hugePageSetting()).isEqualTo(HugePages.NONE);
  }

  @Test
  void machineVcpuCountLimitsAccepted() throws ConfigException {
    assertThat(parse(withMachine("\"vcpu_count\": 1, \"mem_size_mib\": 1")).machine().vcpuCount())
        .isEqualTo(1);
    assertThat(parse(withMachine("\"vcpu_count\": 32, \"mem_size_mib\": 1")).machine().vcpuCount())
        .isEqualTo(32);
  }

  @Test
  void smtWithOneVcpuAccepted() throws ConfigException {
    MachineConfig machine =
        parse(withMachine("\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": true")).machine();

    assertThat(machine.smtEnabled()).isTrue();
  }

  @Test
  void transparentHugePagesAccepted() throws ConfigException {
    MachineConfig machine =
        parse(
                withMachine(
                    "\"vcpu_count\": 1, \"mem_size_mib\": 127, \"huge_pages\": \"Transparent\""))
            .machine();

    assertThat(machine.hugePageSetting()).isEqualTo(HugePages.TRANSPARENT);
  }

  @ParameterizedTest
  @ValueSource(strings = {"Error", "Warning", "warn", "Info", "INFO", "Debug", "Trace", "Off"})
  void loggerLevelsAccepted(String level) throws ConfigException {
    VmConfig config = parse(withBootSource("\"logger\": {\"level\": \"" + level + "\"}"));

    assertThat(config.logger().level()).isEqualTo(level);
  }

  @Test
  void emptyDeviceArraysAccepted() throws ConfigException {
    VmConfig config = parse(withBootSource("\"drives\": [], \"network-interfaces\": []"));

    assertThat(config.drives().isEmpty()).isTrue();
    assertThat(config.networkInterfaces().isEmpty()).isTrue();
  }

  @Test
  void nullSectionsAccepted() throws ConfigException {
    VmConfig config =
        parse(
            withBootSource(
                "\"vsock\": null, \"balloon\": null, \"metrics\": null, \"machine-config\": null"));

    assertThat(config.machine()).isEqualTo(MachineConfig.DEFAULT);
  }

  @Test
  void serialNullRateLimiterAccepted() throws ConfigException {
    VmConfig config = parse(withBootSource("\"serial\": {\"rate_limiter\": null}"));

    assertThat(config.serial().serialOutPath()).isNull();
  }

  // Syntax errors

  @Test
  void invalidJsonNamesLineAndColumn() {
    String json =
        """
        {
          "boot-source": {
            "kernel_image_path": "vmlinux",
          }
        }
        """;

    assertThatThrownBy(() -> parse(json))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("vm.json is not valid JSON")
        .hasMessageContaining("line 4, column 3");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "  \n\t"})
  void emptyFileRejected(String json) {
    assertThatThrownBy(() -> parse(json))
        .isInstanceOf(ConfigException.class)
        .hasMessage("config file vm.json is empty");
  }

  @Test
  void jsonNullRejected() {
    assertRejected("null").hasMessageContaining("must be a JSON object");
  }

  @Test
  void duplicateFieldRejected() {
    assertRejected("{" + BOOT_SOURCE + ", " + BOOT_SOURCE + "}")
        .hasMessageContaining("boot-source");
  }

  @Test
  void trailingContentRejected() {
    assertThatThrownBy(() -> parse("{" + BOOT_SOURCE + "} {}")).isInstanceOf(ConfigException.class);
  }

  // Unknown fields and wrong types

  @Test
  void unknownTopLevelFieldRejected() {
    assertRejected(withBootSource("\"boot_source\": {}"))
        .hasMessageContaining("unknown field `boot_source`")
        .hasMessageContaining("at the top level")
        .hasMessageContaining("boot-source");
  }

  @Test
  void unknownMachineFieldListsKnownFields() {
    assertRejected(withMachine("\"vcpu_count\": 1, \"mem_size_mib\": 128, \"vcpus\": 2"))
        .hasMessageContaining("unknown field `vcpus`")
        .hasMessageContaining("in `machine-config`")
        .hasMessageContaining(
            "cpu_template, huge_pages, mem_size_mib, smt, track_dirty_pages, vcpu_count");
  }

  @Test
  void vcpuCountStringRejected() {
    assertRejected(withMachine("\"vcpu_count\": \"2\", \"mem_size_mib\": 128"))
        .hasMessageContaining("`machine-config.vcpu_count`")
        .hasMessageContaining("\"2\"");
  }

  @Test
  void memSizeFractionRejected() {
    assertRejected(withMachine("\"vcpu_count\": 1, \"mem_size_mib\": 1.5"))
        .hasMessageContaining("`machine-config.mem_size_mib`")
        .hasMessageContaining("1.5");
  }

  @Test
  void smtStringRejected() {
    assertRejected(withMachine("\"vcpu_count\": 2, \"mem_size_mib\": 128, \"smt\": \"yes\""))
        .hasMessageContaining("`machine-config.smt`")
        .hasMessageContaining("yes");
  }

  @Test
  void smtStringTrueRejected() {
    assertRejected(withMachine("\"vcpu_count\": 2, \"mem_size_mib\": 128, \"smt\": \"true\""))
        .hasMessageContaining("`machine-config.smt`");
  }

  @Test
  void smtNumberRejected() {
    assertRejected(withMachine("\"vcpu_count\": 2, \"mem_size_mib\": 128, \"smt\": 1"))
        .hasMessageContaining("`machine-config.smt`");
  }

  @Test
  void vcpuCountBooleanRejected() {
    assertRejected(withMachine("\"vcpu_count\": true, \"mem_size_mib\": 128"))
        .hasMessageContaining("`machine-config.vcpu_count`");
  }

  @Test
  void vcpuCountWholeFloatRejected() {
    assertRejected(withMachine("\"vcpu_count\": 2.0, \"mem_size_mib\": 128"))
        .hasMessageContaining("`machine-config.vcpu_count`");
  }

  @Test
  void machineConfigArrayRejected() {
    assertRejected(withBootSource("\"machine-config\": [1, 128]"))
        .hasMessageContaining("`machine-config`");
  }

  @Test
  void kernelPathNumberRejected() {
    assertRejected("{\"boot-source\": {\"kernel_image_path\": 7}}")
        .hasMessageContaining("`boot-source.kernel_image_path`");
  }

  @Test
  void memSizeAboveIntRangeRejected() {
    assertRejected(withMachine("\"vcpu_count\": 1, \"mem_size_mib\": 4294967296"))
        .hasMessageContaining("mem_size_mib")
        .hasMessageContaining("4294967296");
  }

  // Machine configuration rules

  @ParameterizedTest
  @ValueSource(ints = {0, 33, -1})
  void vcpuCountOutOfRangeRejected(int count) {
    assertRejected(withMachine("\"vcpu_count\": " + count + ", \"mem_size_mib\": 128"))
        .hasMessageContaining("`machine-config.vcpu_count` is " + count)
        .hasMessageContaining("between 1 and 32");
  }

  @Test
  void memSizeZeroRejected() {
    assertRejected(withMachine("\"vcpu_count\": 1, \"mem_size_mib\": 0"))
        .hasMessageContaining("`machine-config.mem_size_mib` is 0");
  }

  @Test
  void missingVcpuCountRejected() {
    assertRejected(withMachine("\"mem_size_mib\": 128"))
        .hasMessageContaining("missing `machine-config.vcpu_count`");
  }

  @Test
  void missingMemSizeRejected() {
    assertRejected(withMachine("\"vcpu_count\": 1"))
        .hasMessageContaining("missing `machine-config.mem_size_mib`");
  }

  @ParameterizedTest
  @ValueSource(ints = {3, 31})
  void smtWithOddVcpusRejected(int count) {
    assertRejected(
            withMachine("\"vcpu_count\": " + count + ", \"mem_size_mib\": 128, \"smt\": true"))
        .hasMessageContaining("`machine-config.vcpu_count` is " + count)
        .hasMessageContaining("smt");
  }

  @ParameterizedTest
  @ValueSource(strings = {"1G", "2m", "none", ""})
  void hugePagesUnknownRejected(String value) {
    assertRejected(
            withMachine(
                "\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"" + value + "\""))
        .hasMessageContaining("`machine-config.huge_pages` is \"" + value + "\"")
        .hasMessageContaining("None, Transparent or 2M");
  }

  @Test
  void hugePages2mOddMemoryRejected() {
    assertRejected(withMachine("\"vcpu_count\": 1, \"mem_size_mib\": 129, \"huge_pages\": \"2M\""))
        .hasMessageContaining("`machine-config.mem_size_mib` is 129")
        .hasMessageContaining("2M");
  }

  @ParameterizedTest
  @CsvSource({"T2", "C3", "T2S"})
  void cpuTemplateRejected(String template) {
    assertRejected(
            withMachine(
                "\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"" + template + "\""))
        .hasMessageContaining("`machine-config.cpu_template` \"" + template + "\"")
        .hasMessageContaining("not supported by Kiln yet");
  }

  // Other sections

  @Test
  void missingBootSourceRejected() {
    assertRejected("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128}}")
        .hasMessageContaining("missing `boot-source`");
  }

  @Test
  void missingKernelPathRejected() {
    assertRejected("{\"boot-source\": {\"boot_args\": \"console=ttyS0\"}}")
        .hasMessageContaining("missing `boot-source.kernel_image_path`");
  }

  @Test
  void emptyKernelPathRejected() {
    assertRejected("{\"boot-source\": {\"kernel_image_path\": \"\"}}")
        .hasMessageContaining("missing `boot-source.kernel_image_path`");
  }

  @Test
  void loggerLevelUnknownRejected() {
    assertRejected(withBootSource("\"logger\": {\"level\": \"loud\"}"))
        .hasMessageContaining("`logger.level` is \"loud\"")
        .hasMessageContaining("Error, Warning, Info, Debug, Trace, Off");
  }

  @Test
  void serialRateLimiterRejected() {
    assertRejected(
            withBootSource(
                "\"serial\": {\"rate_limiter\": {\"bandwidth\": {\"size\": 1, \"refill_time\": 1}}}"))
        .hasMessageContaining("`serial.rate_limiter`")
        .hasMessageContaining("not supported by Kiln yet");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "cpu-config|{\"cpuid_modifiers\": []}",
        "memory-hotplug|{\"total_size_mib\": 1024}",
        "pmem|[{\"id\": \"pmem0\", \"path_on_host\": \"/tmp/pmem\"}]",
      })
  void unsupportedSectionRejected(String section, String value) {
    assertRejected(withBootSource("\"" + section + "\": " + value))
        .hasMessageContaining("the `" + section + "` section is not supported by Kiln yet");
  }

  @Test
  void metricsSectionAccepted() throws ConfigException {
    VmConfig config =
        VmConfigParser.parse(
            withBootSource("\"metrics\": {\"metrics_path\": \"/tmp/metrics\"}"), "test");
    assertThat(config.metrics().metricsPath()).isEqualTo("/tmp/metrics");
  }

  @Test
  void metricsWithoutPathRejected() {
    assertRejected(withBootSource("\"metrics\": {}")).hasMessageContaining("metrics.metrics_path");
  }

  @Test
  void partialConfigurationNeedsNoBootSource() throws ConfigException {
    VmConfig config =
        VmConfigParser.parsePartial(
            "{\"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 64}}", "test");
    assertThat(config.bootSource()).isNull();
    assertThat(config.machine().vcpuCount()).isEqualTo(2);
  }

  @Test
  void entropySectionAccepted() throws ConfigException {
    VmConfig config = VmConfigParser.parse(withBootSource("\"entropy\": {}"), "vm.json");

    assertThat(config.entropy()).isNotNull();
  }

  @Test
  void entropyRateLimiterParsed() throws ConfigException {
    VmConfig config =
        parse(
            withBootSource(
                "\"entropy\": {\"rate_limiter\": {\"bandwidth\": {\"size\": 1024,"
                    + " \"one_time_burst\": 4096, \"refill_time\": 100},"
                    + " \"ops\": {\"size\": 5, \"refill_time\": 1000}}}"));

    RateLimiterConfig limiter = config.entropy().rateLimiter();
    assertThat(limiter.bandwidth()).isEqualTo(new TokenBucketConfig(1024L, 4096L, 100L));
    assertThat(limiter.ops()).isEqualTo(new TokenBucketConfig(5L, null, 1000L));
    assertThat(limiter.limits()).isTrue();
  }

  @Test
  void entropyRateLimiterZeroSizeLimitsNothing() throws ConfigException {
    VmConfig config =
        parse(
            withBootSource(
                "\"entropy\": {\"rate_limiter\": {\"ops\": {\"size\": 0,"
                    + " \"refill_time\": 1000}}}"));

    assertThat(config.entropy().rateLimiter().limits()).isFalse();
  }

  @Test
  void entropyRateLimiterNegativeRejected() {
    assertRejected(
            withBootSource(
                "\"entropy\": {\"rate_limiter\": {\"bandwidth\": {\"size\": 1,"
                    + " \"refill_time\": -1}}}"))
        .hasMessageContaining("`entropy.rate_limiter.bandwidth.refill_time` is -1");
  }

  @Test
  void entropyRateLimiterUnknownFieldRejected() {
    assertRejected(
            withBootSource(
                "\"entropy\": {\"rate_limiter\": {\"ops\": {\"size\": 1,"
                    + " \"refill_time\": 1, \"rate\": 2}}}"))
        .hasMessageContaining("rate");
  }

  @Test
  void driveRateLimiterUnknownFieldRejected() {
    assertRejected(
            withBootSource(
                "\"drives\": [{\"drive_id\": \"rootfs\", \"path_on_host\": \"/x\","
                    + " \"is_root_device\": true, \"rate_limiter\": {\"iops\": {}}}]"))
        .hasMessageContaining("iops");
  }

  // Files

  @Test
  void parseFileReadsConfig() throws IOException, ConfigException {
    Path file = Files.writeString(directory.resolve("vm.json"), FULL_CONFIG);

    VmConfig config = VmConfigParser.parseFile(file);

    assertThat(config.bootSource().kernelImagePath()).isEqualTo("/images/vmlinux");
  }

  @Test
  void parseFileNamesPathInErrors() throws IOException {
    Path file = Files.writeString(directory.resolve("bad.json"), "{\"machine-config\": 1}");

    assertThatThrownBy(() -> VmConfigParser.parseFile(file))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(file.toString());
  }

  @Test
  void parseFileMissingPathRejected() {
    Path missing = directory.resolve("absent.json");

    assertThatThrownBy(() -> VmConfigParser.parseFile(missing))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(missing.toString())
        .hasMessageContaining("does not exist");
  }

  @Test
  void parseFileDirectoryRejected() {
    assertThatThrownBy(() -> VmConfigParser.parseFile(directory))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(directory.toString());
  }
}
