package dev.kiln.api;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Counts API requests under the names of Firecracker's metrics: {@code get_api_requests}, {@code
 * put_api_requests} and {@code patch_api_requests}, each with {@code <resource>_count} for every
 * request and {@code <resource>_fails} for those answered with an error.
 */
final class RequestMetrics {
  private final Map<String, Map<String, Long>> counts = new TreeMap<>();

  /** Records one request by method and first path segment, and whether it failed. */
  synchronized void record(String method, String firstSegment, boolean failed) {
    String section =
        switch (method) {
          case "GET" -> "get_api_requests";
          case "PUT" -> "put_api_requests";
          case "PATCH" -> "patch_api_requests";
          default -> null;
        };
    String resource = resource(method, firstSegment);
    if (section == null || resource == null) {
      return;
    }
    Map<String, Long> values = counts.computeIfAbsent(section, k -> new TreeMap<>());
    values.merge(resource + "_count", 1L, Long::sum);
    // Firecracker counts failures for changes only.
    if (!method.equals("GET")) {
      values.merge(resource + "_fails", failed ? 1L : 0L, Long::sum);
    }
  }

  /** Returns the counters so far, by section. */
  synchronized Map<String, Map<String, Long>> snapshot() {
    Map<String, Map<String, Long>> copy = new LinkedHashMap<>();
    counts.forEach((section, values) -> copy.put(section, new LinkedHashMap<>(values)));
    return copy;
  }

  private static String resource(String method, String first) {
    if (method.equals("GET")) {
      return switch (first) {
        case "" -> "instance_info";
        case "version" -> "vmm_version";
        case "machine-config" -> "machine_cfg";
        case "mmds" -> "mmds";
        case "vm" -> "vm_config";
        case "balloon" -> "balloon";
        default -> null;
      };
    }
    return switch (first) {
      case "actions" -> "actions";
      case "boot-source" -> "boot_source";
      case "drives" -> "drive";
      case "logger" -> "logger";
      case "machine-config" -> "machine_cfg";
      case "cpu-config" -> "cpu_cfg";
      case "metrics" -> "metrics";
      case "network-interfaces" -> "network";
      case "mmds" -> "mmds";
      case "vsock" -> "vsock";
      case "balloon" -> "balloon";
      case "entropy" -> "entropy";
      case "serial" -> "serial";
      case "vm" -> "vm";
      default -> null;
    };
  }
}
