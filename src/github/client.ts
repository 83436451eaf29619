// The installation-authenticated GitHub client every adapter in src/github/ takes: Probot's Octokit,
// fully typed (REST endpoint methods, paginate, retry), so no call site needs `any`.
import type { ProbotOctokit } from "probot";

export type GitHubClient = InstanceType<typeof ProbotOctokit>;
