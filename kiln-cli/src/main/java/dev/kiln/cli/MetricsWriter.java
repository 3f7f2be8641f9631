package dev.kiln.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.cli.logging.LogFiles;
import dev.kiln.vmm.MicroVm;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Writes metrics as Firecracker does: one JSON object per line and flush, with {@code
 * utc_timestamp_ms} and one object per component. Counters are written as the change since the
 * previous flush, so a reader adds them up; {@code block} sums all drives and {@code net} all
 * network interfaces.
 */
final class MetricsWriter implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private OutputStream out;
  private String path;
  private MicroVm vm;
  private Supplier<Map<String, Map<String, Long>>> apiMetrics = Map::of;
  private final Map<String, Map<String, Long>> previous = new HashMap<>();
  private long flushes;
  private long failedFlushes;

  /** Opens {@code path}; metrics go there from the next flush on. */
  synchronized void open(String newPath) throws IOException {
    OutputStream opened = LogFiles.openForAppend(newPath);
    close();
    out = opened;
    path = newPath;
  }

  /** Makes the API's request counters part of each flush. */
  synchronized void attachApi(Supplier<Map<String, Map<String, Long>>> counters) {
    apiMetrics = counters;
  }

  /** Makes the running VM's device counters part of each flush. */
  synchronized void attach(MicroVm running) {
    vm = running;
  }

  /**
   * Writes one metrics line.
   *
   * @return false when no metrics path is open
   * @throws IOException when the write fails; the failure is counted in the next line
   */
  synchronized boolean flush() throws IOException {
    if (out == null) {
      return false;
    }
    ObjectNode line = render(System.currentTimeMillis());
    try {
      out.write((line.toString() + "\n").getBytes(StandardCharsets.UTF_8));
      out.flush();
      flushes++;
    } catch (IOException e) {
      failedFlushes++;
      throw new IOException("writing metrics to " + path + " failed: " + e.getMessage(), e);
    }
    return true;
  }

  /** Builds the next line and remembers its counters as the base for the one after it. */
  ObjectNode render(long nowMillis) {
    ObjectNode line = JSON.createObjectNode();
    line.put("utc_timestamp_ms", nowMillis);
    Map<String, Map<String, Long>> sections = new LinkedHashMap<>();
    sections.putAll(apiMetrics.get());
    if (vm != null) {
      sections.putAll(vm.deviceMetrics());
    }
    Map<String, Long> logger = new LinkedHashMap<>();
    logger.put("metrics_fails", failedFlushes);
    logger.put("missed_metrics_count", failedFlushes);
    logger.put("missed_log_count", 0L);
    logger.put("log_fails", 0L);
    sections.put("logger", logger);

    Map<String, Long> blockTotal = new LinkedHashMap<>();
    Map<String, Long> netTotal = new LinkedHashMap<>();
    for (Map.Entry<String, Map<String, Long>> section : sections.entrySet()) {
      Map<String, Long> delta = delta(section.getKey(), section.getValue());
      if (section.getKey().startsWith("block_")) {
        delta.forEach((name, value) -> blockTotal.merge(name, value, Long::sum));
      } else if (section.getKey().startsWith("net_")) {
        delta.forEach((name, value) -> netTotal.merge(name, value, Long::sum));
      }
      line.set(section.getKey(), JSON.valueToTree(delta));
    }
    if (!blockTotal.isEmpty()) {
      line.set("block", JSON.valueToTree(blockTotal));
    }
    if (!netTotal.isEmpty()) {
      line.set("net", JSON.valueToTree(netTotal));
    }
    return line;
  }

  private Map<String, Long> delta(String section, Map<String, Long> now) {
    Map<String, Long> before = previous.getOrDefault(section, Map.of());
    Map<String, Long> delta = new LinkedHashMap<>();
    now.forEach((name, value) -> delta.put(name, value - before.getOrDefault(name, 0L)));
    previous.put(section, new HashMap<>(now));
    return delta;
  }

  /** Returns how many lines were written. */
  synchronized long flushes() {
    return flushes;
  }

  @Override
  public synchronized void close() {
    if (out != null) {
      try {
        out.close();
      } catch (IOException e) {
        // Nothing is left to write to it.
      }
      out = null;
    }
  }
}
