package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A change to a drive after boot: a new backing file or rate limiter ({@code PATCH
 * /drives/{drive_id}}).
 *
 * @param driveId the drive's id, equal to the id in the request path; required
 * @param pathOnHost new host path of the backing file, or {@code null} to keep it
 * @param rateLimiter new rate limiter, or {@code null} to keep it
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record PartialDrive(
    @JsonProperty("drive_id") String driveId,
    @JsonProperty("path_on_host") String pathOnHost,
    @JsonProperty("rate_limiter") RateLimiter rateLimiter) {}
