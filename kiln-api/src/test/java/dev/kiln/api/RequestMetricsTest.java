package dev.kiln.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RequestMetricsTest {
  private final RequestMetrics metrics = new RequestMetrics();

  @Test
  void countsRequestsAndFailuresByResource() {
    metrics.record("PUT", "drives", false);
    metrics.record("PUT", "drives", true);
    metrics.record("PATCH", "machine-config", false);

    var snapshot = metrics.snapshot();
    assertThat(snapshot.get("put_api_requests")).containsEntry("drive_count", 2L);
    assertThat(snapshot.get("put_api_requests")).containsEntry("drive_fails", 1L);
    assertThat(snapshot.get("patch_api_requests")).containsEntry("machine_cfg_count", 1L);
    assertThat(snapshot.get("patch_api_requests")).containsEntry("machine_cfg_fails", 0L);
  }

  @Test
  void getsHaveNoFailureCounter() {
    metrics.record("GET", "", true);

    assertThat(metrics.snapshot().get("get_api_requests"))
        .containsEntry("instance_info_count", 1L)
        .doesNotContainKey("instance_info_fails");
  }

  @Test
  void unknownResourcesAreNotCounted() {
    metrics.record("PUT", "snapshot", false);
    metrics.record("DELETE", "drives", false);

    assertThat(metrics.snapshot()).isEmpty();
  }
}
