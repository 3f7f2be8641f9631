package dev.kiln.vmm.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * The {@code serial} section: Firecracker's {@code SerialDevice} definition.
 *
 * @param serialOutPath a file or named pipe that receives the guest's serial output instead of
 *     standard output
 * @param rateLimiter a token bucket for serial output; not supported yet
 */
public record SerialConfig(
    @JsonProperty("serial_out_path") String serialOutPath,
    @JsonProperty("rate_limiter") JsonNode rateLimiter) {}
