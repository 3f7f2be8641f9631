package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The destination and format of the server's log ({@code PUT /logger}).
 *
 * @param logPath host path of the file or named pipe for log lines
 * @param level the minimum level logged; the server reads it case-insensitively
 * @param showLevel whether each line carries its level
 * @param showLogOrigin whether each line carries the source file and line
 * @param module module path that log lines are filtered by
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record Logger(
    @JsonProperty("log_path") String logPath,
    @JsonProperty("level") Level level,
    @JsonProperty("show_level") Boolean showLevel,
    @JsonProperty("show_log_origin") Boolean showLogOrigin,
    @JsonProperty("module") String module) {
  /** A log level. */
  public enum Level {
    @JsonProperty("Error")
    ERROR,
    @JsonProperty("Warning")
    WARNING,
    @JsonProperty("Info")
    INFO,
    @JsonProperty("Debug")
    DEBUG,
    @JsonProperty("Trace")
    TRACE,
    @JsonProperty("Off")
    OFF
  }

  /** Creates a builder with every field unset. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder of {@link Logger}; fields left unset are omitted from the JSON. */
  public static final class Builder {
    private String logPath;
    private Level level;
    private Boolean showLevel;
    private Boolean showLogOrigin;
    private String module;

    private Builder() {}

    /** Sets the host path of the file or named pipe for log lines. */
    public Builder logPath(String logPath) {
      this.logPath = logPath;
      return this;
    }

    /** Sets the minimum level logged. */
    public Builder level(Level level) {
      this.level = level;
      return this;
    }

    /** Sets whether each line carries its level. */
    public Builder showLevel(Boolean showLevel) {
      this.showLevel = showLevel;
      return this;
    }

    /** Sets whether each line carries the source file and line. */
    public Builder showLogOrigin(Boolean showLogOrigin) {
      this.showLogOrigin = showLogOrigin;
      return this;
    }

    /** Sets the module path that log lines are filtered by. */
    public Builder module(String module) {
      this.module = module;
      return this;
    }

    /** Creates the {@link Logger}. */
    public Logger build() {
      return new Logger(logPath, level, showLevel, showLogOrigin, module);
    }
  }
}
