// Import boundaries that keep the layers apart (npm run lint fails on any of these).
//   src/analysis/  pure: itself, web-tree-sitter (and the grammar/stdlib assets it loads), pure builtins
//   src/review/    the review core: no front end (GitHub, queue, ops, worker, CLI, Probot app)
//   src/report/    formatters: no GitHub, queue or ops code
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "An import cycle (type-only imports count: they tie the layers together just the same).",
      from: {},
      to: { circular: true },
    },
    {
      name: "analysis-imports-only-itself",
      severity: "error",
      comment: "src/analysis/ is pure: it imports itself, web-tree-sitter and builtins (checked below), nothing else.",
      from: { path: "^src/analysis/" },
      to: { pathNot: ["^src/analysis/", "(^|/)node_modules/web-tree-sitter/"], dependencyTypesNot: ["core"] },
    },
    {
      name: "analysis-pure-builtins",
      severity: "error",
      comment:
        "Builtins in src/analysis/ must be pure (path/posix, crypto). Only the asset loaders read files: " +
        "grammar.ts (the pinned tree-sitter-go.wasm), stdlib.ts (stdlib-table.json) and package-root.ts (where those assets are, from src/ or dist/).",
      from: { path: "^src/analysis/", pathNot: "^src/analysis/(grammar|stdlib|package-root)\\.ts$" },
      to: { dependencyTypes: ["core"], pathNot: "^(node:)?(path/posix|crypto)$" },
    },
    {
      name: "review-core-has-no-front-end",
      severity: "error",
      comment: "src/review/ decides for every front end; adapters import it, never the other way round.",
      from: { path: "^src/review/" },
      to: {
        path: [
          "^src/(github|queue|ops)/",
          "^worker/",
          "^src/(app|main|cli)\\.ts$",
          "(^|/)node_modules/(probot|bullmq|ioredis|@octokit|express|@bull-board)/",
        ],
      },
    },
    {
      name: "report-has-no-github-or-queue",
      severity: "error",
      comment: "src/report/ formats results; it never talks to GitHub or the queue.",
      from: { path: "^src/report/" },
      to: {
        path: [
          "^src/(github|queue|ops)/",
          "^worker/",
          "^src/(app|main)\\.ts$",
          "(^|/)node_modules/(probot|bullmq|ioredis|@octokit|@bull-board)/",
        ],
      },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      comment: "An import that does not resolve (a typo, or a package that is not installed).",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(test/fixtures|node_modules|scratch)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
      extensions: [".ts", ".js", ".mjs", ".cjs", ".json"],
    },
    moduleSystems: ["es6", "cjs"],
  },
};
