package dev.kiln.api.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RequestHeadTest {
  private static RequestHead parse(String head) throws HttpException {
    byte[] bytes = head.getBytes(StandardCharsets.ISO_8859_1);
    return RequestHead.parse(bytes, bytes.length);
  }

  private static HttpException rejection(String head) {
    try {
      parse(head);
    } catch (HttpException e) {
      return e;
    }
    throw new AssertionError("parse accepted " + head);
  }

  @Test
  void requestLineSplitsIntoParts() throws Exception {
    RequestHead head = parse("PUT /drives/rootfs HTTP/1.1\r\nHost: localhost");

    assertThat(head.method()).isEqualTo("PUT");
    assertThat(head.path()).isEqualTo("/drives/rootfs");
    assertThat(head.version()).isEqualTo("HTTP/1.1");
    assertThat(head.headers()).containsEntry("host", "localhost");
  }

  @Test
  void queryStringIsDropped() throws Exception {
    assertThat(parse("GET /machine-config?pretty=1 HTTP/1.1").path()).isEqualTo("/machine-config");
  }

  @Test
  void bareLineFeedsAreAccepted() throws Exception {
    RequestHead head = parse("GET / HTTP/1.1\nAccept: application/json\nHost: x");

    assertThat(head.headers()).containsEntry("accept", "application/json");
    assertThat(head.headers()).containsEntry("host", "x");
  }

  @Test
  void http10IsAcceptedAndClosesByDefault() throws Exception {
    RequestHead head = parse("GET / HTTP/1.0");

    assertThat(head.version()).isEqualTo("HTTP/1.0");
    assertThat(head.wantsClose()).isTrue();
  }

  @Test
  void http10KeepAliveKeepsConnection() throws Exception {
    assertThat(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive").wantsClose()).isFalse();
  }

  @Test
  void http11KeepsConnectionUnlessClosed() throws Exception {
    assertThat(parse("GET / HTTP/1.1").wantsClose()).isFalse();
    assertThat(parse("GET / HTTP/1.1\r\nConnection: close").wantsClose()).isTrue();
    assertThat(parse("GET / HTTP/1.1\r\nconnection: Close").wantsClose()).isTrue();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "HTTP/2.0",
        "HTTP/1.2",
        "http/1.1",
        "HTTP/1",
        "HTTP/1.1 ",
        "",
      })
  void unsupportedVersionIsRejected(String version) {
    HttpException e = rejection("GET / " + version);

    assertThat(e.status()).isEqualTo(400);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "GET",
        "GET /",
        "GET  / HTTP/1.1",
        "GET / HTTP/1.1 extra",
        " GET / HTTP/1.1",
        "GET\t/\tHTTP/1.1",
      })
  void malformedRequestLineIsRejected(String line) {
    HttpException e = rejection(line);

    assertThat(e.status()).isEqualTo(400);
  }

  @ParameterizedTest
  @ValueSource(strings = {"G(T", "GET:", "AVERYLONGMETHODNAME", "G\u00e9T"})
  void invalidMethodIsRejected(String method) {
    HttpException e = rejection(method + " / HTTP/1.1");

    assertThat(e.status()).isEqualTo(400);
    assertThat(e.getMessage()).contains("method");
  }

  @ParameterizedTest
  @ValueSource(strings = {"*", "http://localhost/", "drives", "/a\u007fb", "/caf\u00e9"})
  void invalidTargetIsRejected(String target) {
    HttpException e = rejection("GET " + target + " HTTP/1.1");

    assertThat(e.status()).isEqualTo(400);
    assertThat(e.getMessage()).contains("request target");
  }

  @Test
  void headerNamesAreCaseInsensitive() throws Exception {
    RequestHead head = parse("GET / HTTP/1.1\r\nCONTENT-LENGTH: 5\r\nX-Thing:   padded  ");

    assertThat(head.contentLength()).isEqualTo(5);
    assertThat(head.headers()).containsEntry("x-thing", "padded");
  }

  @Test
  void repeatedHeaderKeepsLastValue() throws Exception {
    assertThat(parse("GET / HTTP/1.1\r\nAccept: a\r\nAccept: b").headers())
        .containsEntry("accept", "b");
  }

  @Test
  void emptyHeaderValueIsAccepted() throws Exception {
    assertThat(parse("GET / HTTP/1.1\r\nX-Empty:").headers()).containsEntry("x-empty", "");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "NoColon",
        ": value",
        "Bad Name: value",
        "Bad\u0001Name: value",
        "Name : value",
        " Folded: value",
        "\tFolded: value",
        "Control: a\u0000b",
        "Control: a\u001bb",
        "Delete: a\u007fb",
        "Carriage: a\rb",
        "LeadingControl: \u001fvalue",
        "TrailingControl: value\u001c",
      })
  void malformedHeaderLineIsRejected(String line) {
    HttpException e = rejection("GET / HTTP/1.1\r\n" + line);

    assertThat(e.status()).isEqualTo(400);
  }

  @Test
  void emptyLineInsideHeadIsRejected() {
    assertThat(rejection("GET / HTTP/1.1\r\n\r\nHost: x").status()).isEqualTo(400);
  }

  @Test
  void obsoleteFoldingNamesTheProblem() {
    assertThat(rejection("GET / HTTP/1.1\r\nA: b\r\n c").getMessage()).contains("folding");
  }

  @Test
  void missingContentLengthMeansNoBody() throws Exception {
    assertThat(parse("PUT /actions HTTP/1.1").contentLength()).isZero();
  }

  @Test
  void contentLengthIsParsed() throws Exception {
    assertThat(parse("PUT /actions HTTP/1.1\r\nContent-Length: 0").contentLength()).isZero();
    assertThat(parse("PUT /actions HTTP/1.1\r\nContent-Length: 51200").contentLength())
        .isEqualTo(51200);
    assertThat(parse("PUT /actions HTTP/1.1\r\nContent-Length: 007").contentLength()).isEqualTo(7);
  }

  @Test
  void repeatedEqualContentLengthIsAccepted() throws Exception {
    assertThat(parse("PUT / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3").contentLength())
        .isEqualTo(3);
  }

  @Test
  void conflictingContentLengthsAreRejected() {
    HttpException e = rejection("PUT / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4");

    assertThat(e.status()).isEqualTo(400);
    assertThat(e.getMessage()).contains("Content-Length");
  }

  @ParameterizedTest
  @ValueSource(strings = {"-1", "+5", "5 5", "0x10", "1e3", "12a", "1234567890123456789"})
  void malformedContentLengthIsRejected(String value) throws Exception {
    RequestHead head = parse("PUT / HTTP/1.1\r\nContent-Length: " + value);

    assertThatThrownBy(head::contentLength)
        .isInstanceOf(HttpException.class)
        .hasMessageContaining("Content-Length");
  }

  @Test
  void emptyContentLengthIsRejected() throws Exception {
    RequestHead head = parse("PUT / HTTP/1.1\r\nContent-Length:");

    assertThatThrownBy(head::contentLength).isInstanceOf(HttpException.class);
  }

  @ParameterizedTest
  @ValueSource(strings = {"chunked", "gzip, chunked", "identity"})
  void transferEncodingIsRejected(String value) throws Exception {
    RequestHead head = parse("PUT / HTTP/1.1\r\nTransfer-Encoding: " + value);

    assertThatThrownBy(head::contentLength)
        .isInstanceOf(HttpException.class)
        .hasMessageContaining("Transfer-Encoding");
  }

  @Test
  void transferEncodingWinsOverContentLength() throws Exception {
    RequestHead head = parse("PUT / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked");

    assertThatThrownBy(head::contentLength).isInstanceOf(HttpException.class);
  }

  @Test
  void expectContinueIsRecognised() throws Exception {
    assertThat(parse("PUT / HTTP/1.1\r\nExpect: 100-Continue").expectsContinue()).isTrue();
    assertThat(parse("PUT / HTTP/1.1\r\nExpect: 200-ok").expectsContinue()).isFalse();
    assertThat(parse("PUT / HTTP/1.1").expectsContinue()).isFalse();
  }

  @Test
  void rejectionMessageEscapesControlBytes() {
    HttpException e = rejection("GET\u0001 / HTTP/1.1");

    assertThat(e.getMessage()).contains("\\x01");
    assertThat(e.getMessage()).doesNotContain("\u0001");
  }

  @Test
  void parseReadsOnlyGivenLength() throws Exception {
    byte[] bytes = "GET / HTTP/1.1\r\nHost: x\r\n\r\ngarbage".getBytes(StandardCharsets.US_ASCII);
    int headLength = "GET / HTTP/1.1\r\nHost: x".length();

    assertThat(RequestHead.parse(bytes, headLength).headers()).containsOnlyKeys("host");
  }

  @Test
  void parseStartsAtGivenOffset() throws Exception {
    String earlier = "PUT /earlier HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
    String later = "GET /later HTTP/1.1\r\nAccept: */*";
    byte[] bytes = (earlier + later + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);

    RequestHead head = RequestHead.parse(bytes, earlier.length(), later.length());
    assertThat(head.method()).isEqualTo("GET");
    assertThat(head.path()).isEqualTo("/later");
    assertThat(head.headers()).containsOnlyKeys("accept");
  }
}
