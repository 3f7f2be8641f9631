package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The state of the hotpluggable memory ({@code GET /hotplug/memory}).
 *
 * @param totalSizeMib total size of the region in MiB
 * @param slotSizeMib size of a host slot in MiB
 * @param blockSizeMib size of a guest block in MiB
 * @param pluggedSizeMib size the guest has plugged, in MiB
 * @param requestedSizeMib size last requested, in MiB
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record MemoryHotplugStatus(
    @JsonProperty("total_size_mib") Long totalSizeMib,
    @JsonProperty("slot_size_mib") Long slotSizeMib,
    @JsonProperty("block_size_mib") Long blockSizeMib,
    @JsonProperty("plugged_size_mib") Long pluggedSizeMib,
    @JsonProperty("requested_size_mib") Long requestedSizeMib) {}
