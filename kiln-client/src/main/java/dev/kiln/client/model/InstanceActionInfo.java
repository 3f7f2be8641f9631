package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A synchronous action on the instance ({@code PUT /actions}).
 *
 * @param actionType the action; required
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record InstanceActionInfo(@JsonProperty("action_type") ActionType actionType) {
  /** An action the server performs when asked. */
  public enum ActionType {
    /** Writes the metrics now. */
    @JsonProperty("FlushMetrics")
    FLUSH_METRICS,

    /** Boots the configured VM. */
    @JsonProperty("InstanceStart")
    INSTANCE_START,

    /** Sends Ctrl+Alt+Del to the guest's keyboard controller (x86_64). */
    @JsonProperty("SendCtrlAltDel")
    SEND_CTRL_ALT_DEL
  }
}
