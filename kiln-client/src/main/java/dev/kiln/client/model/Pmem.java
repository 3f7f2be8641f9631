package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A virtio-pmem device backed by a host file ({@code PUT /pmem/{id}}).
 *
 * @param id the device's id, equal to the id in the request path; required
 * @param pathOnHost host path of the backing file; required
 * @param rootDevice whether the guest boots from this device
 * @param readOnly whether the backing file is mapped read-only
 * @param rateLimiter the device's rate limiter
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record Pmem(
    @JsonProperty("id") String id,
    @JsonProperty("path_on_host") String pathOnHost,
    @JsonProperty("root_device") Boolean rootDevice,
    @JsonProperty("read_only") Boolean readOnly,
    @JsonProperty("rate_limiter") RateLimiter rateLimiter) {
  /** Creates a writable, non-root device backed by {@code pathOnHost}. */
  public static Pmem of(String id, String pathOnHost) {
    return new Pmem(id, pathOnHost, null, null, null);
  }
}
