package dev.kiln.cli.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.LayoutBase;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;

/**
 * Formats log lines the way Firecracker does: {@code <time> [<id>:<thread>(:<level>)(:<origin>)]
 * <message>}, with the local time to the nanosecond, for example {@code
 * 2026-12-04T16:22:48.123456789 [anonymous-instance:main:INFO] Running Kiln v0.1.0}.
 */
public final class FirecrackerLayout extends LayoutBase<ILoggingEvent> {
  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSS");

  private final String instanceId;
  private final boolean showLevel;
  private final boolean showOrigin;

  /**
   * @param instanceId the VM id from {@code --id}
   * @param showLevel whether lines carry their level
   * @param showOrigin whether lines carry the logging class and line number
   */
  public FirecrackerLayout(String instanceId, boolean showLevel, boolean showOrigin) {
    this.instanceId = instanceId;
    this.showLevel = showLevel;
    this.showOrigin = showOrigin;
  }

  @Override
  public String doLayout(ILoggingEvent event) {
    StringBuilder line = new StringBuilder(128);
    line.append(TIME.format(LocalDateTime.ofInstant(event.getInstant(), ZoneId.systemDefault())));
    line.append(" [").append(instanceId).append(':').append(event.getThreadName());
    if (showLevel) {
      line.append(':').append(levelName(event.getLevel()));
    }
    if (showOrigin) {
      StackTraceElement[] caller = event.getCallerData();
      if (caller != null && caller.length > 0) {
        line.append(':')
            .append(caller[0].getFileName())
            .append(':')
            .append(caller[0].getLineNumber());
      }
    }
    line.append("] ").append(event.getFormattedMessage()).append(CoreConstants.LINE_SEPARATOR);
    if (event.getThrowableProxy() != null) {
      line.append(ThrowableProxyUtil.asString(event.getThrowableProxy()))
          .append(CoreConstants.LINE_SEPARATOR);
    }
    return line.toString();
  }

  /** Returns the level as Firecracker names it. */
  static String levelName(Level level) {
    return switch (level.toInt()) {
      case Level.ERROR_INT -> "ERROR";
      case Level.WARN_INT -> "WARN";
      case Level.INFO_INT -> "INFO";
      case Level.DEBUG_INT -> "DEBUG";
      default -> "TRACE";
    };
  }
}
