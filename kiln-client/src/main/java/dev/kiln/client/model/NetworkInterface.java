package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A virtio-net device backed by a host TAP device ({@code PUT /network-interfaces/{iface_id}}).
 *
 * @param ifaceId the interface's id, equal to the id in the request path; required
 * @param hostDevName name of the host TAP device; required
 * @param guestMac the guest's MAC address, such as {@code 06:00:ac:10:00:02}
 * @param mtu MTU offered to the guest through VIRTIO_NET_F_MTU, 68 to 65535
 * @param rxRateLimiter rate limiter for packets the guest receives
 * @param txRateLimiter rate limiter for packets the guest sends
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record NetworkInterface(
    @JsonProperty("iface_id") String ifaceId,
    @JsonProperty("host_dev_name") String hostDevName,
    @JsonProperty("guest_mac") String guestMac,
    @JsonProperty("mtu") Integer mtu,
    @JsonProperty("rx_rate_limiter") RateLimiter rxRateLimiter,
    @JsonProperty("tx_rate_limiter") RateLimiter txRateLimiter) {
  /** Creates an interface on the TAP device {@code hostDevName}, with other fields unset. */
  public static NetworkInterface of(String ifaceId, String hostDevName) {
    return builder().ifaceId(ifaceId).hostDevName(hostDevName).build();
  }

  /** Creates a builder with every field unset. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder of {@link NetworkInterface}; fields left unset are omitted from the JSON. */
  public static final class Builder {
    private String ifaceId;
    private String hostDevName;
    private String guestMac;
    private Integer mtu;
    private RateLimiter rxRateLimiter;
    private RateLimiter txRateLimiter;

    private Builder() {}

    /** Sets the interface's id, equal to the id in the request path. */
    public Builder ifaceId(String ifaceId) {
      this.ifaceId = ifaceId;
      return this;
    }

    /** Sets the name of the host TAP device. */
    public Builder hostDevName(String hostDevName) {
      this.hostDevName = hostDevName;
      return this;
    }

    /** Sets the guest's MAC address, such as {@code 06:00:ac:10:00:02}. */
    public Builder guestMac(String guestMac) {
      this.guestMac = guestMac;
      return this;
    }

    /** Sets the MTU offered to the guest through VIRTIO_NET_F_MTU, 68 to 65535. */
    public Builder mtu(Integer mtu) {
      this.mtu = mtu;
      return this;
    }

    /** Sets the rate limiter for packets the guest receives. */
    public Builder rxRateLimiter(RateLimiter rxRateLimiter) {
      this.rxRateLimiter = rxRateLimiter;
      return this;
    }

    /** Sets the rate limiter for packets the guest sends. */
    public Builder txRateLimiter(RateLimiter txRateLimiter) {
      this.txRateLimiter = txRateLimiter;
      return this;
    }

    /** Creates the {@link NetworkInterface}. */
    public NetworkInterface build() {
      return new NetworkInterface(
          ifaceId, hostDevName, guestMac, mtu, rxRateLimiter, txRateLimiter);
    }
  }
}
