package dev.kiln.vmm.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.kiln.vmm.ratelimiter.RateLimiterConfig;

/**
 * The {@code entropy} section: Firecracker's {@code EntropyDevice} definition. Its presence adds a
 * virtio-rng device.
 *
 * @param rateLimiter limits on the entropy bytes and requests per second; no limit when absent
 */
public record EntropyConfig(@JsonProperty("rate_limiter") RateLimiterConfig rateLimiter) {}
