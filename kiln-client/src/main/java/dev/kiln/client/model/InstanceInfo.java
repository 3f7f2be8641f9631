package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * General information about the instance ({@code GET /}).
 *
 * @param appName the server program's name
 * @param id the instance id
 * @param state the instance's state, or {@code null} if the server sent a state this client does
 *     not know
 * @param vmmVersion the server's version
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record InstanceInfo(
    @JsonProperty("app_name") String appName,
    @JsonProperty("id") String id,
    @JsonProperty("state") State state,
    @JsonProperty("vmm_version") String vmmVersion) {
  /** The state of an instance. */
  public enum State {
    /** Configured but not booted. */
    @JsonProperty("Not started")
    NOT_STARTED,

    /** Booted and running. */
    @JsonProperty("Running")
    RUNNING,

    /** Booted and paused. */
    @JsonProperty("Paused")
    PAUSED
  }
}
