/**
 * A Java client for the Firecracker REST API over a Unix domain socket: {@link
 * dev.kiln.client.KilnClient} drives a Kiln or Firecracker process started with {@code --api-sock}.
 */
package dev.kiln.client;
