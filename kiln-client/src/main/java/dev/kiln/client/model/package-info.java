/**
 * Request and response bodies of the Firecracker REST API, one record per swagger definition.
 *
 * <p>Record components carry the definition's property names, serialize without {@code null}
 * fields, and ignore unknown properties when read, so a newer server may add fields. Optional
 * fields use boxed types, where {@code null} means unset.
 */
package dev.kiln.client.model;
