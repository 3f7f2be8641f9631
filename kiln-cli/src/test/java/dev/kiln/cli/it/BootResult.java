package dev.kiln.cli.it;

import static org.assertj.core.api.Assertions.fail;

import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What one Kiln run printed and how it ended.
 *
 * @param exitStatus Kiln's exit status
 * @param stdout Kiln's stdout lines, which contain the guest's serial output
 * @param stderr Kiln's stderr
 */
record BootResult(int exitStatus, List<String> stdout, String stderr) {
  /** The prefix of every line that a test guest prints for the tests. */
  static final String GUEST_PREFIX = "kiln-test: ";

  /** Returns the guest's lines with {@link #GUEST_PREFIX} and anything before it removed. */
  List<String> guestLines() {
    return stdout.stream()
        .filter(line -> line.contains(GUEST_PREFIX))
        .map(line -> line.substring(line.indexOf(GUEST_PREFIX) + GUEST_PREFIX.length()).strip())
        .toList();
  }

  /** Returns the first guest line that {@code pattern} matches from its start, if any. */
  Optional<Matcher> findGuestLine(Pattern pattern) {
    for (String line : guestLines()) {
      Matcher matcher = pattern.matcher(line);
      if (matcher.lookingAt()) {
        return Optional.of(matcher);
      }
    }
    return Optional.empty();
  }

  /** Returns all guest lines that {@code pattern} matches from their start. */
  List<Matcher> findGuestLines(Pattern pattern) {
    return guestLines().stream().map(pattern::matcher).filter(Matcher::lookingAt).toList();
  }

  /** Returns the first guest line that {@code pattern} matches, failing the test if none does. */
  Matcher requireGuestLine(Pattern pattern) {
    return findGuestLine(pattern)
        .orElseGet(
            () ->
                fail(
                    "the guest printed no line matching \"%s\"%n%s",
                    pattern.pattern(), transcript()));
  }

  /** Returns everything Kiln printed, for failure messages. */
  String transcript() {
    return transcript(stdout, stderr);
  }

  static String transcript(List<String> stdout, String stderr) {
    StringBuilder text = new StringBuilder("--- Kiln stdout (guest serial output) ---\n");
    for (String line : stdout) {
      text.append(line).append('\n');
    }
    text.append("--- Kiln stderr ---\n").append(stderr);
    if (!stderr.endsWith("\n")) {
      text.append('\n');
    }
    return text.append("---").toString();
  }

  /** Parses a guest's hex number, with or without a 0x prefix. */
  static long hex(String text) {
    String digits = text.startsWith("0x") ? text.substring(2) : text;
    return Long.parseUnsignedLong(digits, 16);
  }
}
