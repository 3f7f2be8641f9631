package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The requested running state of the VM ({@code PATCH /vm}).
 *
 * @param state the state; required
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record Vm(@JsonProperty("state") State state) {
  /** A running state. */
  public enum State {
    @JsonProperty("Paused")
    PAUSED,
    @JsonProperty("Resumed")
    RESUMED
  }

  /** Creates a request to pause the VM. */
  public static Vm paused() {
    return new Vm(State.PAUSED);
  }

  /** Creates a request to resume the VM. */
  public static Vm resumed() {
    return new Vm(State.RESUMED);
  }
}
