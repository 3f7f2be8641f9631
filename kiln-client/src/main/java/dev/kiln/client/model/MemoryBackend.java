package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The source of guest memory when a snapshot is loaded.
 *
 * @param backendType the kind of source; required
 * @param backendPath path of the memory file, or of the UFFD handler's Unix socket; required
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record MemoryBackend(
    @JsonProperty("backend_type") BackendType backendType,
    @JsonProperty("backend_path") String backendPath) {
  /** A kind of memory source. */
  public enum BackendType {
    /** A file that contains guest memory. */
    @JsonProperty("File")
    FILE,

    /** A process that serves page faults through userfaultfd. */
    @JsonProperty("Uffd")
    UFFD
  }
}
