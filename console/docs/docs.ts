import "@scalar/api-reference/style.css";
import { createApiReference } from "@scalar/api-reference";

// The reference for this host's own document. Fonts are the system's (the default ones would
// come from Scalar's CDN) and nothing is fetched from elsewhere.
const mount = document.getElementById("reference");
if (mount) {
  createApiReference(mount, {
    url: "/openapi.json",
    withDefaultFonts: false,
    hideClientButton: true,
    telemetry: false,
  });
}
