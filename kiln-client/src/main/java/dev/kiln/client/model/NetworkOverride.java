package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A new TAP device for a network interface when a snapshot is loaded.
 *
 * @param ifaceId the interface's id; required
 * @param hostDevName name of the new TAP device; required
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record NetworkOverride(
    @JsonProperty("iface_id") String ifaceId, @JsonProperty("host_dev_name") String hostDevName) {}
