package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * New rate limiters for a network interface after boot ({@code PATCH
 * /network-interfaces/{iface_id}}).
 *
 * @param ifaceId the interface's id, equal to the id in the request path; required
 * @param rxRateLimiter new receive rate limiter, or {@code null} to keep it
 * @param txRateLimiter new transmit rate limiter, or {@code null} to keep it
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record PartialNetworkInterface(
    @JsonProperty("iface_id") String ifaceId,
    @JsonProperty("rx_rate_limiter") RateLimiter rxRateLimiter,
    @JsonProperty("tx_rate_limiter") RateLimiter txRateLimiter) {}
