package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A new rate limiter for a pmem device after boot ({@code PATCH /pmem/{id}}).
 *
 * @param id the device's id, equal to the id in the request path; required
 * @param rateLimiter the new rate limiter
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record PartialPmem(
    @JsonProperty("id") String id, @JsonProperty("rate_limiter") RateLimiter rateLimiter) {}
