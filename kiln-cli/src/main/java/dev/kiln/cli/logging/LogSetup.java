package dev.kiln.cli.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Applies Firecracker's logger settings to Logback: destination, level, format and filter. */
public final class LogSetup {
  private LogSetup() {}

  /**
   * The logger settings, from the command line and the config file's {@code logger} section.
   *
   * @param instanceId the VM id
   * @param logPath a file or named pipe, or null for standard error
   * @param level a Firecracker level name: Error, Warning, Info, Debug, Trace or Off
   * @param showLevel whether lines carry their level
   * @param showOrigin whether lines carry their origin
   * @param module only lines from loggers whose name starts with this, or null for all
   */
  public record Settings(
      String instanceId,
      String logPath,
      String level,
      boolean showLevel,
      boolean showOrigin,
      String module) {}

  /**
   * Replaces the current logging setup.
   *
   * @throws IOException when the log file or pipe cannot be opened
   * @throws IllegalArgumentException when the level name is unknown
   */
  public static void apply(Settings settings) throws IOException {
    Level level = parseLevel(settings.level());
    OutputStream out =
        settings.logPath() == null
            ? new UncloseableStream(new FileOutputStream(FileDescriptor.err))
            : LogFiles.openForAppend(settings.logPath());

    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.detachAndStopAllAppenders();

    FirecrackerLayout layout =
        new FirecrackerLayout(settings.instanceId(), settings.showLevel(), settings.showOrigin());
    layout.setContext(context);
    layout.start();
    LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
    encoder.setContext(context);
    encoder.setLayout(layout);
    encoder.start();

    OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
    appender.setContext(context);
    appender.setName("kiln");
    appender.setEncoder(encoder);
    appender.setImmediateFlush(true);
    appender.setOutputStream(out);
    if (settings.module() != null && !settings.module().isEmpty()) {
      String prefix = settings.module();
      Filter<ILoggingEvent> filter =
          new Filter<>() {
            @Override
            public FilterReply decide(ILoggingEvent event) {
              return event.getLoggerName().startsWith(prefix)
                  ? FilterReply.NEUTRAL
                  : FilterReply.DENY;
            }
          };
      filter.start();
      appender.addFilter(filter);
    }
    appender.start();
    root.addAppender(appender);
    root.setLevel(level);
  }

  /**
   * Standard error for the appender. Replacing the appender closes its stream, and closing a stream
   * on file descriptor 2 would close standard error for the rest of the process.
   */
  private static final class UncloseableStream extends java.io.FilterOutputStream {
    UncloseableStream(OutputStream out) {
      super(out);
    }

    @Override
    public void write(byte[] bytes, int offset, int length) throws IOException {
      out.write(bytes, offset, length);
    }

    @Override
    public void close() throws IOException {
      flush();
    }
  }

  /**
   * Returns the Logback level for a Firecracker level name, in any case.
   *
   * @throws IllegalArgumentException naming the value and the accepted names
   */
  public static Level parseLevel(String name) {
    if (name == null) {
      return Level.INFO;
    }
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "error" -> Level.ERROR;
      case "warning", "warn" -> Level.WARN;
      case "info" -> Level.INFO;
      case "debug" -> Level.DEBUG;
      case "trace" -> Level.TRACE;
      case "off" -> Level.OFF;
      default ->
          throw new IllegalArgumentException(
              "log level \""
                  + name
                  + "\" is unknown; use Error, Warning, Info, Debug, Trace or"
                  + " Off");
    };
  }
}
