package dev.kiln.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PathSegmentsTest {
  @Test
  void unreservedCharactersStay() {
    assertThat(PathSegments.encode("rootfs-1.v2_~A")).isEqualTo("rootfs-1.v2_~A");
  }

  @Test
  void reservedCharactersAreEncoded() {
    assertThat(PathSegments.encode("a/b?c#d%e f")).isEqualTo("a%2Fb%3Fc%23d%25e%20f");
  }

  @Test
  void nonAsciiIsEncodedAsUtf8() {
    assertThat(PathSegments.encode("é")).isEqualTo("%C3%A9");
  }

  @Test
  void dotSegmentsAreEncoded() {
    assertThat(PathSegments.encode("..")).isEqualTo("%2E%2E");
    assertThat(PathSegments.encode(".")).isEqualTo("%2E");
  }

  @Test
  void emptyIsRejected() {
    assertThatThrownBy(() -> PathSegments.encode("")).isInstanceOf(IllegalArgumentException.class);
  }
}
