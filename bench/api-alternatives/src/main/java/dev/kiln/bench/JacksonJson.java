package dev.kiln.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;

/** JSON through Jackson databind's tree model, the way Kiln's ApiController builds and reads it. */
final class JacksonJson {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private JacksonJson() {}

  /** Returns the body of {@code GET /}, built as an ObjectNode and serialized by Jackson. */
  static String instanceInfo(String id) {
    return JsonNodeFactory.instance
        .objectNode()
        .put("id", id)
        .put("state", "Not started")
        .put("vmm_version", "0.1.0")
        .put("app_name", "Kiln")
        .toString();
  }

  /** Parses a request body, as Kiln does before it checks a {@code PUT /machine-config}. */
  static JsonNode parse(byte[] body) throws IOException {
    return MAPPER.readTree(body);
  }
}
