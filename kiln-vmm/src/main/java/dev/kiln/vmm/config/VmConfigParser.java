package dev.kiln.vmm.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Reads and validates a configuration file in Firecracker's format. Like Firecracker it rejects
 * unknown fields and values of the wrong JSON type; unlike a lenient parser it never converts a
 * string to a number. Every error names the field and what to change.
 */
public final class VmConfigParser {
  /** Levels accepted by {@code logger.level}, compared without case. */
  public static final Set<String> LOG_LEVELS =
      Set.of("error", "warning", "warn", "info", "debug", "trace", "off");

  private static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
          // Numbers in free-form JSON (the MMDS data store) keep their exact value: as doubles,
          // 1e400 would become Infinity and 1.5e-400 zero.
          .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          // Firecracker rejects a number or boolean where a string belongs; so does Kiln.
          .withCoercionConfig(
              LogicalType.Textual,
              coercion ->
                  coercion
                      .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                      .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                      .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
          .build();

  /** The largest configuration file Kiln reads: 1 MiB, far above any real one. */
  public static final long MAX_CONFIG_BYTES = 1 << 20;

  private VmConfigParser() {}

  /** Reads, parses and validates a configuration file. */
  public static VmConfig parseFile(Path path) throws ConfigException {
    return parse(readFile(path), path.toString());
  }

  /** Reads a configuration file's text, refusing what is not a regular file or is too large. */
  public static String readFile(Path path) throws ConfigException {
    String json;
    try {
      if (Files.exists(path) && !Files.isRegularFile(path)) {
        throw new ConfigException(
            "config file " + path + " is not a regular file; give --config-file a JSON file");
      }
      if (Files.size(path) > MAX_CONFIG_BYTES) {
        throw new ConfigException(
            String.format(
                "config file %s is %d bytes; a configuration is at most %d bytes",
                path, Files.size(path), MAX_CONFIG_BYTES));
      }
      json = Files.readString(path);
    } catch (NoSuchFileException e) {
      throw new ConfigException("config file " + path + " does not exist; check --config-file");
    } catch (IOException e) {
      throw new ConfigException("cannot read config file " + path + ": " + e.getMessage(), e);
    }
    return json;
  }

  /**
   * Parses and validates configuration text.
   *
   * @param source where the text came from, for messages
   */
  public static VmConfig parse(String json, String source) throws ConfigException {
    if (json.isBlank()) {
      throw new ConfigException("config file " + source + " is empty");
    }
    VmConfig config = read(json, VmConfig.class, source);
    if (config == null) {
      throw new ConfigException(source + ": the configuration must be a JSON object, not null");
    }
    validate(config, source);
    return config;
  }

  /**
   * Parses and validates a configuration that may still lack its boot source, as the API holds it
   * before the VM starts.
   */
  public static VmConfig parsePartial(String json, String source) throws ConfigException {
    VmConfig config = read(json, VmConfig.class, source);
    if (config == null) {
      throw new ConfigException(source + ": the configuration must be a JSON object, not null");
    }
    validateSections(config, source);
    return config;
  }

  /**
   * Parses JSON text into {@code type} with the same strict rules and messages as a configuration
   * file: unknown fields and wrong types are errors naming the field.
   *
   * @param source where the text came from, for messages
   */
  public static <T> T read(String json, Class<T> type, String source) throws ConfigException {
    try {
      if (json.isBlank()) {
        throw new ConfigException(source + ": the JSON text is empty; send a JSON object");
      }
      return MAPPER.readValue(json, type);
    } catch (UnrecognizedPropertyException e) {
      throw new ConfigException(
          String.format(
              "%s: unknown field `%s`%s; known fields are: %s",
              source,
              e.getPropertyName(),
              location(e),
              e.getKnownPropertyIds().stream()
                  .map(Object::toString)
                  .sorted()
                  .collect(Collectors.joining(", "))),
          e);
    } catch (MismatchedInputException e) {
      String expected = expectedType(e.getTargetType());
      if (expected != null) {
        throw new ConfigException(
            String.format(
                "%s: invalid value %s%s: it must be %s",
                source,
                offendingValue(e),
                path(e).isEmpty() ? "at the top level" : "for `" + path(e) + "`",
                expected),
            e);
      }
      throw new ConfigException(
          String.format(
              "%s: invalid value %s: %s",
              source,
              path(e).isEmpty() ? "at the top level" : "for `" + path(e) + "`",
              firstLine(e.getOriginalMessage())),
          e);
    } catch (JsonMappingException e) {
      // Databind wraps syntax errors met inside an object; report those as invalid JSON.
      if (e.getCause() instanceof StreamReadException syntax
          && !(syntax instanceof InputCoercionException)) {
        throw syntaxError(source, syntax);
      }
      // Valid JSON that does not fit its field, such as a number too large for it.
      throw new ConfigException(
          String.format(
              "%s: invalid value %s: %s",
              source,
              path(e).isEmpty() ? "at the top level" : "for `" + path(e) + "`",
              firstLine(e.getOriginalMessage())),
          e);
    } catch (JsonProcessingException e) {
      throw syntaxError(source, e);
    }
  }

  private static void validate(VmConfig config, String source) throws ConfigException {
    BootSourceConfig boot = config.bootSource();
    if (boot == null) {
      throw new ConfigException(
          source + ": missing `boot-source`; add {\"kernel_image_path\": \"...\"}");
    }
    validateSections(config, source);
  }

  private static void validateSections(VmConfig config, String source) throws ConfigException {
    for (Map.Entry<String, JsonNode> section : config.unsupportedSections().entrySet()) {
      JsonNode value = section.getValue();
      boolean empty = value == null || value.isNull() || (value.isArray() && value.isEmpty());
      if (!empty) {
        throw new ConfigException(
            String.format(
                "%s: the `%s` section is not supported by Kiln yet; remove it from the config"
                    + " file",
                source, section.getKey()));
      }
    }
    BootSourceConfig boot = config.bootSource();
    if (boot != null) {
      validateBootSource(boot, source);
    }
    validateRest(config, source);
  }

  /** Checks a boot source: a kernel path is required, paths and boot_args must be usable. */
  public static void validateBootSource(BootSourceConfig boot, String source)
      throws ConfigException {
    if (boot.kernelImagePath() == null || boot.kernelImagePath().isEmpty()) {
      throw new ConfigException(
          source + ": missing `boot-source.kernel_image_path`; give the path to a kernel image");
    }
    checkPath(boot.kernelImagePath(), "boot-source.kernel_image_path", source);
    checkPath(boot.initrdPath(), "boot-source.initrd_path", source);
    checkBootArgs(boot.bootArgs(), source);
  }

  private static void validateRest(VmConfig config, String source) throws ConfigException {
    validateMachine(config.machine(), source);
    LoggerConfig logger = config.logger();
    if (logger != null
        && logger.level() != null
        && !LOG_LEVELS.contains(logger.level().toLowerCase(Locale.ROOT))) {
      throw new ConfigException(
          String.format(
              "%s: `logger.level` is \"%s\"; use one of Error, Warning, Info, Debug, Trace, Off",
              source, logger.level()));
    }
    DriveConfig.validate(config.driveList(), source);
    NetworkInterfaceConfig.validate(config.networkInterfaceList(), source);
    EntropyConfig entropy = config.entropy();
    if (entropy != null && entropy.rateLimiter() != null) {
      entropy.rateLimiter().validate(source, "entropy.rate_limiter");
    }
    if (config.balloon() != null) {
      config.balloon().validate(config.machine(), source);
    }
    MetricsConfig metrics = config.metrics();
    if (metrics != null && (metrics.metricsPath() == null || metrics.metricsPath().isEmpty())) {
      throw new ConfigException(
          source + ": missing `metrics.metrics_path`; give a file or named pipe");
    }
    if (config.vsock() != null) {
      config.vsock().validate(source);
    }
    SerialConfig serial = config.serial();
    if (serial != null && serial.rateLimiter() != null && !serial.rateLimiter().isNull()) {
      throw new ConfigException(
          source + ": `serial.rate_limiter` is not supported by Kiln yet; remove it");
    }
  }

  private static void checkPath(String path, String field, String source) throws ConfigException {
    if (path != null && path.indexOf('\0') >= 0) {
      throw new ConfigException(
          String.format(
              "%s: `%s` contains a NUL character; give a plain file path", source, field));
    }
  }

  /**
   * Checks that the kernel command line is printable ASCII, as Firecracker requires: a NUL would
   * end the line early and hide what Kiln appends after it.
   */
  private static void checkBootArgs(String bootArgs, String source) throws ConfigException {
    if (bootArgs == null) {
      return;
    }
    for (int i = 0; i < bootArgs.length(); i++) {
      char c = bootArgs.charAt(i);
      if (c < ' ' || c > '~') {
        throw new ConfigException(
            String.format(
                "%s: `boot-source.boot_args` has the character U+%04X at index %d; the kernel"
                    + " command line takes printable ASCII only",
                source, (int) c, i));
      }
    }
  }

  /** Checks a machine configuration by Firecracker's rules. */
  public static void validateMachine(MachineConfig machine, String source) throws ConfigException {
    if (machine.vcpuCount() == null) {
      throw new ConfigException(source + ": missing `machine-config.vcpu_count`");
    }
    if (machine.memSizeMib() == null) {
      throw new ConfigException(source + ": missing `machine-config.mem_size_mib`");
    }
    int vcpus = machine.vcpuCount();
    if (vcpus < 1 || vcpus > MachineConfig.MAX_VCPUS) {
      throw new ConfigException(
          String.format(
              "%s: `machine-config.vcpu_count` is %d; it must be between 1 and %d",
              source, vcpus, MachineConfig.MAX_VCPUS));
    }
    if (machine.smtEnabled() && vcpus > 1 && vcpus % 2 != 0) {
      throw new ConfigException(
          String.format(
              "%s: `machine-config.vcpu_count` is %d with `smt` on; with SMT it must be 1 or an"
                  + " even number",
              source, vcpus));
    }
    int mib = machine.memSizeMib();
    if (mib < 1) {
      throw new ConfigException(
          String.format(
              "%s: `machine-config.mem_size_mib` is %d; it must be at least 1", source, mib));
    }
    HugePages hugePages;
    try {
      hugePages = machine.hugePageSetting();
    } catch (IllegalArgumentException e) {
      throw new ConfigException(
          String.format(
              "%s: `machine-config.huge_pages` is \"%s\"; use None, Transparent or 2M",
              source, machine.hugePages()));
    }
    if (hugePages == HugePages.HUGE_2M && mib % 2 != 0) {
      throw new ConfigException(
          String.format(
              "%s: `machine-config.mem_size_mib` is %d with 2M huge pages; it must be a multiple"
                  + " of 2",
              source, mib));
    }
    String template = machine.cpuTemplate();
    if (template != null && !template.equals("None")) {
      throw new ConfigException(
          String.format(
              "%s: `machine-config.cpu_template` \"%s\" is not supported by Kiln yet; remove it"
                  + " or set it to None",
              source, template));
    }
  }

  // Jackson's coercion messages name the rejected value in the first parentheses, for example
  // Cannot coerce String value ("2") to `java.lang.Integer` value.
  private static final java.util.regex.Pattern QUOTED_VALUE =
      java.util.regex.Pattern.compile("^Cannot (?:coerce|deserialize)[^(]*\\(([^()]*)\\)");

  /** Returns the rejected value as the JSON had it, and a space; or "" when it is not known. */
  private static String offendingValue(MismatchedInputException e) {
    java.util.regex.Matcher m = QUOTED_VALUE.matcher(String.valueOf(e.getOriginalMessage()));
    if (!m.find()) {
      return "";
    }
    return switch (m.group(1)) {
      case "token `JsonToken.START_ARRAY`" -> "(an array) ";
      case "token `JsonToken.START_OBJECT`" -> "(an object) ";
      default -> m.group(1).startsWith("token `JsonToken.") ? "" : m.group(1) + " ";
    };
  }

  /** Returns how a field of the type is written in JSON, or null for types without a rule. */
  private static String expectedType(Class<?> type) {
    if (type == null) {
      return null;
    }
    if (type == String.class) {
      return "a string";
    }
    if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
      return "an integer";
    }
    if (type == Boolean.class || type == boolean.class) {
      return "true or false";
    }
    if (java.util.List.class.isAssignableFrom(type)) {
      return "an array";
    }
    if (type.isRecord()) {
      return "an object";
    }
    return null;
  }

  private static ConfigException syntaxError(String source, JsonProcessingException e) {
    if (e.getLocation() == null) {
      return new ConfigException(source + ": " + firstLine(e.getOriginalMessage()), e);
    }
    return new ConfigException(
        String.format(
            "%s is not valid JSON at line %d, column %d: %s",
            source,
            e.getLocation().getLineNr(),
            e.getLocation().getColumnNr(),
            firstLine(e.getOriginalMessage())),
        e);
  }

  private static String location(JsonMappingException e) {
    String path = path(e);
    int lastDot = path.lastIndexOf('.');
    return lastDot < 0 ? " at the top level" : " in `" + path.substring(0, lastDot) + "`";
  }

  private static String path(JsonMappingException e) {
    return e.getPath().stream()
        .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
        .collect(Collectors.joining("."));
  }

  /**
   * Returns the first line of a Jackson message without the parts that name Jackson's own classes
   * and settings, which mean nothing to a user: source locations, feature and constraint names.
   */
  static String firstLine(String message) {
    if (message == null) {
      return "";
    }
    int newline = message.indexOf('\n');
    String line = newline < 0 ? message : message.substring(0, newline);
    line = JACKSON_SOURCE.matcher(line).replaceAll("");
    line = JACKSON_CONSTRAINT.matcher(line).replaceAll("");
    line = line.replace("token `JsonToken.START_ARRAY`", "an array");
    line = line.replace("token `JsonToken.START_OBJECT`", "an object");
    return line.strip();
  }

  private static final java.util.regex.Pattern JACKSON_SOURCE =
      java.util.regex.Pattern.compile(
          "\\s*\\(start marker at \\[Source: [^]]*\\]\\)|\\s*at \\[Source: [^]]*\\]");
  private static final java.util.regex.Pattern JACKSON_CONSTRAINT =
      java.util.regex.Pattern.compile(", from `[A-Za-z.]+\\(\\)`|\\s*\\(to adjust, use [^)]*\\)");
}
