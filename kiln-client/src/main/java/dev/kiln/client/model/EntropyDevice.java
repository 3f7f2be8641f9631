package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A virtio-rng device ({@code PUT /entropy}).
 *
 * @param rateLimiter rate limiter on the bytes handed to the guest, or {@code null} for none
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record EntropyDevice(@JsonProperty("rate_limiter") RateLimiter rateLimiter) {}
