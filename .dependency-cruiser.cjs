/**
 * Imports point inward only: adapters and http -> service -> ports -> core.
 * `npm run depcheck` (part of `npm test`) fails when a file breaks this.
 */
const layer = (name) => `^src/${name}/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "core-is-pure",
      comment: "src/core imports no other layer of the package and no Node built-in.",
      severity: "error",
      from: { path: layer("core") },
      to: { pathNot: [layer("core"), "^node_modules/(zod|neverthrow|date-fns)/"] },
    },
    {
      name: "ports-only-core",
      severity: "error",
      from: { path: layer("ports") },
      to: { path: ["^src/(service|adapters|http|testing)/"] },
    },
    {
      name: "ports-no-node",
      severity: "error",
      from: { path: layer("ports") },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "service-not-outward",
      severity: "error",
      from: { path: layer("service") },
      to: { path: ["^src/(adapters|http|testing)/"] },
    },
    {
      name: "adapters-not-http",
      severity: "error",
      from: { path: layer("adapters") },
      to: { path: ["^src/http/"] },
    },
    {
      name: "http-not-adapters",
      severity: "error",
      from: { path: layer("http") },
      to: { path: ["^src/adapters/"] },
    },
    {
      name: "no-circular",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // Worktrees may link node_modules from another checkout: resolve packages where they are linked.
    preserveSymlinks: true,
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
    },
  },
};
