package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Objects;

/**
 * A custom CPU template: KVM capabilities, CPUID leaf, MSR and register modifiers ({@code PUT
 * /cpu-config}). The client passes the JSON object through unchanged, with the fields {@code
 * kvm_capabilities}, {@code cpuid_modifiers}, {@code msr_modifiers}, {@code reg_modifiers} and
 * {@code vcpu_features}.
 *
 * @param json the template as a JSON object
 */
public record CpuConfig(@JsonValue ObjectNode json) {
  /** Checks that the template is not {@code null}. */
  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public CpuConfig {
    Objects.requireNonNull(json, "json");
  }
}
