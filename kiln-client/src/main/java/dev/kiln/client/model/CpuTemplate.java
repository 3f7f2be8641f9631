package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A static CPU template, which hides CPU features from the guest to match an EC2 instance type.
 * Firecracker has deprecated static templates in favour of {@link CpuConfig}.
 */
public enum CpuTemplate {
  @JsonProperty("C3")
  C3,
  @JsonProperty("T2")
  T2,
  @JsonProperty("T2S")
  T2S,
  @JsonProperty("T2CL")
  T2CL,
  @JsonProperty("T2A")
  T2A,
  @JsonProperty("V1N1")
  V1N1,

  /** No template: the guest gets every host CPU feature that KVM supports. */
  @JsonProperty("None")
  NONE
}
