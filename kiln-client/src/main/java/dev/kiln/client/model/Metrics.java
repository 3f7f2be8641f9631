package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/**
 * The destination of the server's metrics ({@code PUT /metrics}).
 *
 * @param metricsPath host path of the file or named pipe for metrics lines; required
 * @param emitId whether each metrics line carries the instance id
 * @param properties key-value pairs written into each metrics line
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record Metrics(
    @JsonProperty("metrics_path") String metricsPath,
    @JsonProperty("emit_id") Boolean emitId,
    @JsonProperty("properties") Map<String, String> properties) {
  /** Creates a metrics configuration that writes to {@code metricsPath}. */
  public static Metrics of(String metricsPath) {
    return new Metrics(metricsPath, null, null);
  }
}
