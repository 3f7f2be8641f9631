package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * An I/O rate limiter with separate limits on bytes and on operations.
 *
 * @param bandwidth token bucket whose tokens are bytes, or {@code null} for no limit
 * @param ops token bucket whose tokens are operations, or {@code null} for no limit
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record RateLimiter(
    @JsonProperty("bandwidth") TokenBucket bandwidth, @JsonProperty("ops") TokenBucket ops) {}
