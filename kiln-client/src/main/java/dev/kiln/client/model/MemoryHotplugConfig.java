package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The hotpluggable memory region of a virtio-mem device ({@code PUT /hotplug/memory}).
 *
 * @param totalSizeMib total size of the region in MiB
 * @param slotSizeMib size of a host slot in MiB, 128 or more
 * @param blockSizeMib size of a guest block in MiB, 2 or more
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record MemoryHotplugConfig(
    @JsonProperty("total_size_mib") Long totalSizeMib,
    @JsonProperty("slot_size_mib") Long slotSizeMib,
    @JsonProperty("block_size_mib") Long blockSizeMib) {}
