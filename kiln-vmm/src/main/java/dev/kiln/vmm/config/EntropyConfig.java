package dev.kiln.vmm.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * The {@code entropy} section: Firecracker's {@code EntropyDevice} definition. Its presence adds a
 * virtio-rng device.
 *
 * @param rateLimiter a token bucket for the device; not supported yet
 */
public record EntropyConfig(@JsonProperty("rate_limiter") JsonNode rateLimiter) {}
