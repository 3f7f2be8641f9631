package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The microVM metadata service's version, address and interfaces ({@code PUT /mmds/config}).
 *
 * @param networkInterfaces ids of the network interfaces that may reach the MMDS; required
 * @param version the MMDS protocol version
 * @param ipv4Address link-local IPv4 address of the MMDS, such as {@code 169.254.169.254}
 * @param imdsCompat whether the MMDS responds in plain text like EC2's IMDS
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record MmdsConfig(
    @JsonProperty("network_interfaces") List<String> networkInterfaces,
    @JsonProperty("version") Version version,
    @JsonProperty("ipv4_address") String ipv4Address,
    @JsonProperty("imds_compat") Boolean imdsCompat) {
  /** An MMDS protocol version. */
  public enum Version {
    /** Requests need no session token. */
    @JsonProperty("V1")
    V1,

    /** Requests need a session token. */
    @JsonProperty("V2")
    V2
  }

  /** Creates a configuration with the server's default version and address. */
  public static MmdsConfig of(List<String> networkInterfaces) {
    return new MmdsConfig(networkInterfaces, null, null, null);
  }
}
