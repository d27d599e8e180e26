export * from "./errors.js";
export * from "./outcome.js";
export * from "./progress.js";
export * from "./retry-policy.js";
export * from "./schemas.js";
export * from "./template.js";
export * from "./transitions.js";
export * from "./types.js";
