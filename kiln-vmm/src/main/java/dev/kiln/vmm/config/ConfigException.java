package dev.kiln.vmm.config;

/** An invalid VM configuration; the message names the field, the value and the fix. */
public final class ConfigException extends Exception {
  /** Creates the exception with a message for the user. */
  public ConfigException(String message) {
    super(message);
  }

  /** Creates the exception with a message for the user and the error behind it. */
  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
