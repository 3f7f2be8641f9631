package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A virtio-vsock device whose host side is a Unix socket ({@code PUT /vsock}).
 *
 * @param guestCid the guest's context id, 3 or more; required
 * @param udsPath host path of the Unix socket for host-initiated connections; required
 * @param vsockId deprecated device id
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record Vsock(
    @JsonProperty("guest_cid") Long guestCid,
    @JsonProperty("uds_path") String udsPath,
    @JsonProperty("vsock_id") String vsockId) {
  /** Creates a vsock device without the deprecated {@code vsock_id}. */
  public static Vsock of(long guestCid, String udsPath) {
    return new Vsock(guestCid, udsPath, null);
  }
}
