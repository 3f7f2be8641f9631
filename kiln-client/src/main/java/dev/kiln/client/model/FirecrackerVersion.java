package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The server's version ({@code GET /version}).
 *
 * @param firecrackerVersion the version, such as {@code 1.12.0}
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record FirecrackerVersion(@JsonProperty("firecracker_version") String firecrackerVersion) {}
