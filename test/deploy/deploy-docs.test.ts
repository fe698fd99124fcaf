import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { usageFileFields } from "../../src/config/usage-config.js";

// What the docs and the deployment files tell an operator to type must be what the gateway reads.

const ROOT = join(import.meta.dirname, "../..");
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const OPERATOR_FILES = [
  "README.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
  "deploy/prometheus/alerts.yml",
  "deploy/prometheus/alerts.test.yml",
  "deploy/helm/switchboard/values.yaml",
  "deploy/helm/switchboard/examples/production-values.yaml",
  "deploy/switchboard.yaml",
];

describe("the configuration fields the docs and deployment files name", () => {
  it("name only redis.* fields the configuration file accepts", () => {
    const fields = Object.keys(usageFileFields.redis.unwrap().shape);
    const unknown = OPERATOR_FILES.flatMap((path) =>
      [...read(path).matchAll(/(?<![\w./-])redis\.([a-z_]+)\b/g)].filter(([, field]) => !fields.includes(field!)).map(([mention]) => `${path}: ${mention}`),
    );
    expect(unknown, `the redis section has ${fields.join(", ")}`).toEqual([]);
  });
});

describe("docs/deploy.md on the balancer", () => {
  it("does not say the front serves /metrics: both listeners answer 404 for it (deploy/nginx.conf)", () => {
    const listeners = read("docs/deploy.md")
      .split("\n")
      .filter((line) => /^- `808[01]`/.test(line));
    expect(listeners).toHaveLength(2);
    for (const line of listeners) expect(line).not.toContain("/metrics");
  });
});
