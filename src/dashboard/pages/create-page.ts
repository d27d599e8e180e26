import { html } from "../html.js";
import { layout, type PageContext } from "./layout.js";

/** The create form; the page's script reads the CSV, renders the preview and calls the API. */
export function createPage(ctx: PageContext) {
  const c = ctx.catalog.create;
  return layout(ctx, {
    title: c.heading,
    page: "create",
    body: html`<h1>${c.heading}</h1>
<form id="create-form" method="post" novalidate>
<div class="grid">
  <section class="panel">
    <label for="message">${c.message}</label>
    <textarea id="message" name="message" rows="6" required></textarea>
    <p class="help">${c.placeholderHelp}</p>
    <label for="parse-mode">${c.parseMode}</label>
    <select id="parse-mode" name="parse_mode">
      <option value="">${ctx.catalog.fields.plainText}</option><option value="HTML">HTML</option><option value="MarkdownV2">MarkdownV2</option>
    </select>
    <label for="csv-file">${c.recipients}</label>
    <p class="help">${c.csvHelp}</p>
    <label class="inline" for="csv-file">${c.upload} <input type="file" id="csv-file" accept=".csv,text/csv,text/plain"></label>
    <label for="csv-text">${c.paste}</label>
    <textarea id="csv-text" class="code" rows="8" spellcheck="false" placeholder="recipient_id,chat_id,name&#10;1,100200300,Ada"></textarea>
    <p id="csv-summary" class="help" role="status"></p>
    <ul id="csv-problems" class="alert-list"></ul>
  </section>
  <section class="panel">
    <h2>${c.preview}</h2>
    <label for="preview-recipient">${c.previewFor}</label>
    <select id="preview-recipient"></select>
    <p></p>
    <pre id="preview" class="preview empty">${c.previewEmpty}</pre>
    <p id="preview-length" class="help length"></p>
    <label for="send-at" id="send-at-label">${c.sendAt("")}</label>
    <input type="datetime-local" id="send-at" name="send_at">
    <p class="help">${c.sendAtHelp}</p>
    <label for="error-threshold">${c.errorThreshold}</label>
    <input type="number" id="error-threshold" name="error_threshold" min="1" step="1">
    <div id="form-error" class="alert" role="alert" hidden></div>
    <ul id="form-issues"></ul>
    <p id="upload-progress" class="help" role="status" hidden></p>
    <p><button type="submit" id="submit" class="primary">${c.submitDraft}</button></p>
  </section>
</div>
</form>`,
  });
}
