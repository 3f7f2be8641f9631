package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A new Unix socket path for the vsock device when a snapshot is loaded.
 *
 * @param udsPath the new socket path; required
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record VsockOverride(@JsonProperty("uds_path") String udsPath) {}
