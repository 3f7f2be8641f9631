package dev.kiln.cli.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Runs the real {@code curl} against Kiln's API socket, as an operator's shell would. */
final class Curl {
  private static final Pattern STATUS_LINE = Pattern.compile("(?m)^HTTP/1\\.1 (\\d{3}) .*$");
  private static final long TIMEOUT_SECONDS = 60;

  /**
   * What curl printed with {@code -i}.
   *
   * @param status the status of the final response, after any {@code 100 Continue}
   * @param body the body of the final response
   */
  record Result(int status, String body, String output) {}

  private Curl() {}

  /**
   * Runs {@code curl --unix-socket SOCKET ARGUMENTS...} with {@code -i}, fails the test when curl
   * itself fails, and returns the final response.
   */
  static Result run(Path socket, String... arguments) throws IOException, InterruptedException {
    List<String> command =
        new ArrayList<>(
            List.of(
                "curl",
                "--silent",
                "--show-error",
                "--max-time",
                Long.toString(TIMEOUT_SECONDS),
                "--unix-socket",
                socket.toString(),
                "-i"));
    command.addAll(List.of(arguments));
    Process curl = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(curl.waitFor(TIMEOUT_SECONDS + 5, TimeUnit.SECONDS)).as("curl ended").isTrue();
    assertThat(curl.exitValue()).as("curl exit status; output:%n%s", output).isZero();

    Matcher status = STATUS_LINE.matcher(output);
    int code = -1;
    int headStart = -1;
    while (status.find()) {
      code = Integer.parseInt(status.group(1));
      headStart = status.start();
    }
    assertThat(code).as("a status line in curl's output:%n%s", output).isPositive();
    int bodyStart = output.indexOf("\r\n\r\n", headStart);
    String body = bodyStart < 0 ? "" : output.substring(bodyStart + 4);
    return new Result(code, body, output);
  }
}
