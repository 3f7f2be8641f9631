package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricsWriterTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path directory;

  @Test
  void flushWithoutPathReportsNothingWritten() throws IOException {
    try (MetricsWriter writer = new MetricsWriter()) {
      assertThat(writer.flush()).isFalse();
    }
  }

  @Test
  void eachFlushAppendsOneJsonLine() throws IOException {
    Path file = directory.resolve("metrics.json");
    try (MetricsWriter writer = new MetricsWriter()) {
      writer.open(file.toString());
      assertThat(writer.flush()).isTrue();
      assertThat(writer.flush()).isTrue();
    }
    List<String> lines = Files.readAllLines(file);
    assertThat(lines).hasSize(2);
    for (String line : lines) {
      JsonNode metrics = JSON.readTree(line);
      assertThat(metrics.get("utc_timestamp_ms").asLong()).isPositive();
      assertThat(metrics.get("logger").get("metrics_fails").asLong()).isZero();
    }
  }

  @Test
  void timestampIsTheFlushTime() {
    try (MetricsWriter writer = new MetricsWriter()) {
      assertThat(writer.render(1234L).get("utc_timestamp_ms").asLong()).isEqualTo(1234L);
    }
  }

  @Test
  void openingAMissingDirectoryFailsNamingThePath() {
    String path = directory.resolve("no/such/dir/metrics").toString();
    try (MetricsWriter writer = new MetricsWriter()) {
      assertThatThrownBy(() -> writer.open(path)).isInstanceOf(IOException.class);
    }
  }
}
