package dev.kiln.vmm.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The {@code metrics} section: Firecracker's {@code Metrics} definition.
 *
 * @param metricsPath the file or named pipe that receives one JSON object per flush
 */
public record MetricsConfig(@JsonProperty("metrics_path") String metricsPath) {}
