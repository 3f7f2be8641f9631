package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The destination of the serial console's output ({@code PUT /serial}).
 *
 * @param serialOutPath host path of the file or named pipe for serial output
 * @param rateLimiter limit on output bytes; bytes over the limit are dropped
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record SerialDevice(
    @JsonProperty("serial_out_path") String serialOutPath,
    @JsonProperty("rate_limiter") TokenBucket rateLimiter) {}
