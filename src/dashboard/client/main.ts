import { readConfig } from "./config.js";
import { startCreatePage } from "./create.js";
import { startDetailPage } from "./detail.js";
import { localizeTimes } from "./time.js";

/** The one script every dashboard page loads (no inline script anywhere): it finds its page by `data-page`. */
function main(): void {
  const config = readConfig(document.body);
  localizeTimes(document, config.locale);
  if (config.page === "detail") {
    const id = Number(document.body.dataset.broadcastId);
    if (Number.isSafeInteger(id)) startDetailPage(config, id);
  } else if (config.page === "create") {
    startCreatePage(config);
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
else main();
