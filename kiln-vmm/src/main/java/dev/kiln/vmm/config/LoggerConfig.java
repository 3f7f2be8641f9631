package dev.kiln.vmm.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The {@code logger} section: Firecracker's {@code Logger} definition.
 *
 * @param logPath a file or named pipe for log lines; null for standard error
 * @param level {@code Error}, {@code Warning}, {@code Info}, {@code Debug}, {@code Trace} or {@code
 *     Off}, in any case
 * @param showLevel whether each line shows its level
 * @param showLogOrigin whether each line shows the class and line that logged it
 * @param module only log lines from this logger name prefix
 */
public record LoggerConfig(
    @JsonProperty("log_path") String logPath,
    @JsonProperty("level") String level,
    @JsonProperty("show_level") Boolean showLevel,
    @JsonProperty("show_log_origin") Boolean showLogOrigin,
    @JsonProperty("module") String module) {}
