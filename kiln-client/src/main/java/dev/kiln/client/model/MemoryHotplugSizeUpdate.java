package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A new requested size of the hotpluggable memory ({@code PATCH /hotplug/memory}).
 *
 * @param requestedSizeMib requested plugged size in MiB
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record MemoryHotplugSizeUpdate(@JsonProperty("requested_size_mib") Long requestedSizeMib) {}
