/**
 * Helpers both SQL stores share: value codecs, cursors, row mapping and batch arithmetic.
 * Nothing here imports a database driver.
 */
export * from "./codec.js";
export * from "./cursor.js";
export * from "./data-record.js";
export * from "./outcomes.js";
export * from "./patch.js";
export * from "./rows.js";
export * from "./source.js";
export * from "./webhooks.js";
