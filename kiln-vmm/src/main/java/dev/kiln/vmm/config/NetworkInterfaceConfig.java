package dev.kiln.vmm.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.kiln.vmm.ratelimiter.RateLimiterConfig;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * One entry of the {@code network-interfaces} section: Firecracker's {@code NetworkInterface}
 * definition. Kiln backs each interface with a virtio-net device on a host TAP device.
 *
 * @param ifaceId the interface's name: letters, digits and underscores
 * @param hostDevName the TAP device on the host, at most 15 bytes
 * @param guestMac the MAC address offered to the guest ({@code VIRTIO_NET_F_MAC}), as {@code
 *     xx:xx:xx:xx:xx:xx}; when absent the guest makes up one
 * @param mtu the MTU offered to the guest ({@code VIRTIO_NET_F_MTU}), 68 to 65535; not offered when
 *     absent
 * @param rxRateLimiter limits on the bytes and frames the guest receives
 * @param txRateLimiter limits on the bytes and frames the guest sends
 */
public record NetworkInterfaceConfig(
    @JsonProperty("iface_id") String ifaceId,
    @JsonProperty("host_dev_name") String hostDevName,
    @JsonProperty("guest_mac") String guestMac,
    @JsonProperty("mtu") Integer mtu,
    @JsonProperty("rx_rate_limiter") RateLimiterConfig rxRateLimiter,
    @JsonProperty("tx_rate_limiter") RateLimiterConfig txRateLimiter) {

  /** The longest interface name Linux takes: IFNAMSIZ (16) less the terminating NUL. */
  public static final int MAX_HOST_DEV_NAME_BYTES = 15;

  /** The MTU range of Firecracker's API (and of Ethernet over virtio-net). */
  public static final int MIN_MTU = 68;

  public static final int MAX_MTU = 65535;

  /**
   * Returns the guest MAC address as 6 bytes, or null when {@code guest_mac} is absent.
   *
   * @throws IllegalArgumentException when it is not six pairs of hex digits joined by colons
   */
  public byte[] guestMacBytes() {
    return guestMac == null ? null : parseMac(guestMac);
  }

  /**
   * Parses a MAC address written as Firecracker writes it: six pairs of hex digits separated by
   * colons, in either case.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  public static byte[] parseMac(String text) {
    String[] parts = text.split(":", -1);
    if (parts.length != 6) {
      throw new IllegalArgumentException("it has " + parts.length + " parts, not 6");
    }
    byte[] mac = new byte[6];
    for (int i = 0; i < 6; i++) {
      String part = parts[i];
      if (part.length() != 2 || !isHex(part.charAt(0)) || !isHex(part.charAt(1))) {
        throw new IllegalArgumentException(
            "part " + (i + 1) + " \"" + part + "\" is not two hex digits");
      }
      mac[i] = (byte) Integer.parseInt(part, 16);
    }
    return mac;
  }

  private static boolean isHex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  /** Returns a MAC address as lower-case {@code xx:xx:xx:xx:xx:xx}. */
  public static String formatMac(byte[] mac) {
    return HexFormat.ofDelimiter(":").formatHex(mac);
  }

  /**
   * Checks the {@code network-interfaces} section: required fields, ids, TAP names, MAC addresses,
   * MTUs and rate limiters, and that no two interfaces share an id, a TAP or a MAC address. Whether
   * the TAP can be opened is known only when the VM is built.
   *
   * @param source where the configuration came from, for messages
   * @throws ConfigException naming the interface, the field and the value, on the first problem
   */
  public static void validate(List<NetworkInterfaceConfig> interfaces, String source)
      throws ConfigException {
    Map<String, String> ids = new HashMap<>();
    Map<String, String> taps = new HashMap<>();
    Map<String, String> macs = new HashMap<>();
    for (int i = 0; i < interfaces.size(); i++) {
      NetworkInterfaceConfig iface = interfaces.get(i);
      if (iface == null) {
        throw new ConfigException(
            String.format(
                "%s: `network-interfaces[%d]` is null; give an interface object or remove the"
                    + " entry",
                source, i));
      }
      iface.validateOne(i, source);
      if (ids.putIfAbsent(iface.ifaceId, iface.ifaceId) != null) {
        throw new ConfigException(
            String.format(
                "%s: iface_id \"%s\" appears more than once in `network-interfaces`; give each"
                    + " interface its own id",
                source, iface.ifaceId));
      }
      String otherTap = taps.putIfAbsent(iface.hostDevName, iface.ifaceId);
      if (otherTap != null) {
        throw new ConfigException(
            String.format(
                "%s: interfaces \"%s\" and \"%s\" both use host_dev_name \"%s\"; a TAP serves one"
                    + " interface, so give each its own TAP",
                source, otherTap, iface.ifaceId, iface.hostDevName));
      }
      if (iface.guestMac != null) {
        String mac = formatMac(iface.guestMacBytes());
        String otherMac = macs.putIfAbsent(mac, iface.ifaceId);
        if (otherMac != null) {
          throw new ConfigException(
              String.format(
                  "%s: interfaces \"%s\" and \"%s\" both have guest_mac %s; give each interface"
                      + " its own MAC address",
                  source, otherMac, iface.ifaceId, mac));
        }
      }
    }
  }

  private void validateOne(int index, String source) throws ConfigException {
    if (ifaceId == null) {
      throw new ConfigException(
          String.format("%s: `network-interfaces[%d]` has no `iface_id`; add one", source, index));
    }
    String idProblem = DriveConfig.idProblem(ifaceId);
    if (idProblem != null) {
      throw new ConfigException(
          String.format(
              "%s: `iface_id` \"%s\" is invalid: %s; use letters, digits and underscores",
              source, ifaceId, idProblem));
    }
    String name = String.format("%s: network interface \"%s\"", source, ifaceId);
    if (hostDevName == null || hostDevName.isEmpty()) {
      throw new ConfigException(
          name + ": missing `host_dev_name`; give the name of the host TAP device to use");
    }
    String tapProblem = tapNameProblem(hostDevName);
    if (tapProblem != null) {
      throw new ConfigException(
          String.format("%s: `host_dev_name` \"%s\" %s", name, hostDevName, tapProblem));
    }
    if (guestMac != null) {
      try {
        parseMac(guestMac);
      } catch (IllegalArgumentException e) {
        throw new ConfigException(
            String.format(
                "%s: `guest_mac` \"%s\" is not a MAC address (%s); write it as six pairs of hex"
                    + " digits joined by colons, such as 06:00:ac:10:00:02",
                name, guestMac, e.getMessage()));
      }
    }
    if (mtu != null && (mtu < MIN_MTU || mtu > MAX_MTU)) {
      throw new ConfigException(
          String.format(
              "%s: `mtu` is %d; it must be between %d and %d, or absent",
              name, mtu, MIN_MTU, MAX_MTU));
    }
    if (rxRateLimiter != null) {
      rxRateLimiter.validate(name, "rx_rate_limiter");
    }
    if (txRateLimiter != null) {
      txRateLimiter.validate(name, "tx_rate_limiter");
    }
  }

  /**
   * Returns why Linux would refuse a network interface name (net/core/dev.c, {@code
   * dev_valid_name}), ending in the fix, or null when it takes it.
   */
  static String tapNameProblem(String tapName) {
    int bytes = tapName.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > MAX_HOST_DEV_NAME_BYTES) {
      return String.format(
          "is %d bytes long; Linux interface names are at most %d bytes, so use a shorter TAP"
              + " name",
          bytes, MAX_HOST_DEV_NAME_BYTES);
    }
    if (tapName.equals(".") || tapName.equals("..")) {
      return "is not a valid interface name; give the TAP a real name";
    }
    for (int i = 0; i < tapName.length(); i++) {
      char c = tapName.charAt(i);
      if (c == '/' || c == ':' || c == '\0' || Character.isWhitespace(c)) {
        return String.format(
            "has the character U+%04X at index %d, which Linux interface names cannot contain;"
                + " give the TAP's name",
            (int) c, i);
      }
    }
    return null;
  }
}
