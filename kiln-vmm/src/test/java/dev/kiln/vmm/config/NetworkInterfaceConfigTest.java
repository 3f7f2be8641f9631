package dev.kiln.vmm.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The {@code network-interfaces} section: fields, defaults and every rejection. */
class NetworkInterfaceConfigTest {
  private static final String SOURCE = "vm.json";

  private static VmConfig parse(String interfaces) throws ConfigException {
    return VmConfigParser.parse(
        "{\"boot-source\": {\"kernel_image_path\": \"vmlinux\"}, \"network-interfaces\": ["
            + interfaces
            + "]}",
        SOURCE);
  }

  private static AbstractThrowableAssert<?, ? extends Throwable> assertRejected(String interfaces) {
    return assertThatThrownBy(() -> parse(interfaces))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(SOURCE);
  }

  private static String iface(String id, String tap) {
    return "{\"iface_id\": \"" + id + "\", \"host_dev_name\": \"" + tap + "\"}";
  }

  private static String iface(String id, String tap, String mac) {
    return "{\"iface_id\": \""
        + id
        + "\", \"host_dev_name\": \""
        + tap
        + "\", \"guest_mac\": \""
        + mac
        + "\"}";
  }

  @Test
  void fullInterfaceParsed() throws ConfigException {
    VmConfig config =
        parse(
            """
            {"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:AC:10:00:02",
             "mtu": 9000,
             "rx_rate_limiter": {"bandwidth": {"size": 1000, "refill_time": 100}},
             "tx_rate_limiter": {"ops": {"size": 10, "refill_time": 1000}}}
            """);

    NetworkInterfaceConfig eth0 = config.networkInterfaceList().getFirst();
    assertThat(eth0.ifaceId()).isEqualTo("eth0");
    assertThat(eth0.hostDevName()).isEqualTo("tap0");
    assertThat(eth0.guestMacBytes()).containsExactly(6, 0, 0xac, 0x10, 0, 2);
    assertThat(eth0.mtu()).isEqualTo(9000);
    assertThat(eth0.rxRateLimiter().limits()).isTrue();
    assertThat(eth0.txRateLimiter().limits()).isTrue();
  }

  @Test
  void macIsOptionalAndSectionMayBeAbsent() throws ConfigException {
    assertThat(parse(iface("eth0", "tap0")).networkInterfaceList().getFirst().guestMacBytes())
        .isNull();
    VmConfig none =
        VmConfigParser.parse("{\"boot-source\": {\"kernel_image_path\": \"vmlinux\"}}", SOURCE);
    assertThat(none.networkInterfaceList()).isEmpty();
  }

  @Test
  void duplicateIfaceIdRejected() {
    assertRejected(iface("eth0", "tap0") + ", " + iface("eth0", "tap1"))
        .hasMessageContaining("iface_id \"eth0\" appears more than once")
        .hasMessageContaining("give each interface its own id");
  }

  @Test
  void duplicateHostDevNameRejected() {
    assertRejected(iface("eth0", "tap0") + ", " + iface("eth1", "tap0"))
        .hasMessageContaining("\"eth0\" and \"eth1\" both use host_dev_name \"tap0\"")
        .hasMessageContaining("give each its own TAP");
  }

  @Test
  void duplicateGuestMacRejectedWhateverTheCase() {
    assertRejected(
            iface("eth0", "tap0", "06:00:ac:10:00:02")
                + ", "
                + iface("eth1", "tap1", "06:00:AC:10:00:02"))
        .hasMessageContaining("both have guest_mac 06:00:ac:10:00:02")
        .hasMessageContaining("its own MAC address");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "06:00:ac:10:00",
        "06:00:ac:10:00:02:03",
        "06:00:ac:10:00:2",
        "0g:00:ac:10:00:02",
        "06-00-ac-10-00-02",
        "",
        "06:00:ac:10:00:002"
      })
  void malformedMacRejected(String mac) {
    assertRejected(iface("eth0", "tap0", mac))
        .hasMessageContaining("`guest_mac` \"" + mac + "\" is not a MAC address")
        .hasMessageContaining("six pairs of hex digits");
  }

  @Test
  void tooLongTapNameRejected() {
    assertRejected(iface("eth0", "tap-name-too-long"))
        .hasMessageContaining("`host_dev_name` \"tap-name-too-long\" is 17 bytes long")
        .hasMessageContaining("at most 15 bytes");
  }

  @ParameterizedTest
  @ValueSource(strings = {"tap/0", "tap 0", "tap:0", ".."})
  void invalidTapNameRejected(String name) {
    assertRejected(iface("eth0", name)).hasMessageContaining("`host_dev_name` \"" + name + "\"");
  }

  @Test
  void missingFieldsRejected() {
    assertRejected("{\"host_dev_name\": \"tap0\"}").hasMessageContaining("has no `iface_id`");
    assertRejected("{\"iface_id\": \"eth0\"}").hasMessageContaining("missing `host_dev_name`");
    assertRejected("null").hasMessageContaining("`network-interfaces[0]` is null");
  }

  @Test
  void badIfaceIdRejected() {
    assertRejected(iface("eth-0", "tap0"))
        .hasMessageContaining("`iface_id` \"eth-0\" is invalid")
        .hasMessageContaining("letters, digits and underscores");
  }

  @Test
  void mtuOutOfRangeRejected() {
    assertRejected("{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"mtu\": 67}")
        .hasMessageContaining("`mtu` is 67; it must be between 68 and 65535");
  }

  @Test
  void badRateLimiterRejected() {
    assertRejected(
            "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\","
                + " \"tx_rate_limiter\": {\"bandwidth\": {\"size\": 100, \"refill_time\": -1}}}")
        .hasMessageContaining("tx_rate_limiter.bandwidth");
  }

  @Test
  void unknownFieldRejected() {
    assertRejected("{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"mac\": \"x\"}")
        .hasMessageContaining("unknown field `mac`");
  }
}
