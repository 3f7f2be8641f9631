package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The files a snapshot of a paused VM is written to ({@code PUT /snapshot/create}).
 *
 * @param snapshotPath host path of the VM state file; required
 * @param memFilePath host path of the guest memory file; required
 * @param snapshotType full or diff; the server's default is full
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record SnapshotCreateParams(
    @JsonProperty("snapshot_path") String snapshotPath,
    @JsonProperty("mem_file_path") String memFilePath,
    @JsonProperty("snapshot_type") SnapshotType snapshotType) {
  /** The kind of snapshot. */
  public enum SnapshotType {
    /** All of guest memory. */
    @JsonProperty("Full")
    FULL,

    /** Only the pages dirtied since the last snapshot. */
    @JsonProperty("Diff")
    DIFF
  }
}
