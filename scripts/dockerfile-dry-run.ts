// Docker cannot run on the CI machines, so this runs the Dockerfile's own
// instructions here instead: each stage gets a directory standing in for its
// filesystem, COPY copies, the build stage's RUN lines run, and the final
// stage's ENTRYPOINT + CMD start with its ENV. Then it checks what a container
// runtime would: the HEALTHCHECK passes, the gateway answers an authenticated
// call and refuses an anonymous one, and STOPSIGNAL ends it with exit code 0;
// once in plain HTTP, once with a configuration that sets server.tls.
//
//   npx tsx scripts/dockerfile-dry-run.ts [deploy/Dockerfile]
//
// What it cannot show: the base image itself, and RUN lines other than npm
// steps, which prepare the image's root filesystem (they are listed, not run);
// the process runs as this user rather than USER. It runs on the Node the base
// image names (node:<major>): on another, it fetches that Node with
// scripts/install-node.sh (as the compatibility runs do) and runs itself again there.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

interface Stage {
  name: string;
  root: string;
  workdir: string;
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[];
  stopSignal: NodeJS.Signals;
  skipped: string[];
}

const context = resolve(import.meta.dirname, "..");
const dockerfile = resolve(context, process.argv[2] ?? "deploy/Dockerfile");
const scratch = mkdtempSync(join(tmpdir(), "dockerfile-dry-run-"));
let container: ChildProcess | undefined;

/** Dockerfile lines with continuations joined and comments dropped. */
function instructions(text: string): { op: string; args: string }[] {
  const joined = text.replace(/\\\r?\n\s*/g, " ");
  return joined
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(" ") };
    });
}

/** The exec form (a JSON array) or the shell form of CMD, ENTRYPOINT and HEALTHCHECK CMD. */
function command(args: string): string[] {
  return args.trim().startsWith("[") ? (JSON.parse(args) as string[]) : ["/bin/sh", "-c", args];
}

function inStage(stage: Stage, path: string): string {
  return join(stage.root, path.startsWith("/") ? path : join(stage.workdir, path));
}

/**
 * The dry run stands in for the image's Node, so it runs on the major its `node:<major>` base names.
 * Returns the exit code of the run on that Node, or undefined when this is that Node already.
 */
function runOnImageNode(): number | undefined {
  const image = /^\s*FROM\s+node:(\d+)/im.exec(readFileSync(dockerfile, "utf8"))?.[1];
  if (!image || image === process.versions.node.split(".")[0]) return undefined;
  const bin = execFileSync("bash", [join(context, "scripts/install-node.sh"), image], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  console.error(`dockerfile dry run: the image runs Node ${image}, running again on ${bin}/node`);
  const run = spawnSync("npx", ["tsx", import.meta.filename, dockerfile], { stdio: "inherit", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  return run.status ?? 1;
}

function build(): Stage {
  const stages = new Map<string, Stage>();
  let stage: Stage | undefined;
  for (const { op, args } of instructions(readFileSync(dockerfile, "utf8"))) {
    if (op === "FROM") {
      const name = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? `stage-${stages.size}`;
      stage = { name, root: join(scratch, name), workdir: "/", env: {}, entrypoint: [], cmd: [], healthcheck: [], stopSignal: "SIGTERM", skipped: [] };
      mkdirSync(stage.root, { recursive: true });
      stages.set(name, stage);
      continue;
    }
    if (!stage) throw new Error(`${op} before FROM`);
    switch (op) {
      case "WORKDIR":
        stage.workdir = args;
        mkdirSync(inStage(stage, "."), { recursive: true });
        break;
      case "ENV":
        for (const [, key, value] of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) stage.env[key!] = value!.replace(/^"|"$/g, "");
        break;
      case "COPY": {
        const parts = args.split(/\s+/);
        const from = parts.find((part) => part.startsWith("--from="))?.slice("--from=".length);
        const paths = parts.filter((part) => !part.startsWith("--"));
        const dest = paths.pop()!;
        const source = from ? stages.get(from) : undefined;
        if (from && !source) throw new Error(`COPY --from=${from}: no such stage`);
        for (const path of paths) {
          const src = source ? inStage(source, path) : join(context, path);
          const target = dest.endsWith("/") ? join(inStage(stage, dest), path.split("/").pop()!) : inStage(stage, dest === "." ? path : dest);
          // Directories keep their name under the destination as Docker does for `COPY dir dir`.
          mkdirSync(dirname(target), { recursive: true });
          cpSync(src, target, { recursive: true });
        }
        break;
      }
      case "RUN":
        // The build steps (npm) run; anything else prepares the image's root filesystem.
        if (!/^\s*npm\b/.test(args)) {
          stage.skipped.push(args);
          break;
        }
        console.error(`[${stage.name}] RUN ${args}`);
        execFileSync("/bin/sh", ["-c", args], { cwd: inStage(stage, "."), stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, ...stage.env } });
        break;
      case "ENTRYPOINT":
        stage.entrypoint = command(args);
        break;
      case "CMD":
        stage.cmd = command(args);
        break;
      case "HEALTHCHECK":
        stage.healthcheck = command(args.replace(/^(--\S+\s+)*CMD\s+/, ""));
        break;
      case "STOPSIGNAL":
        stage.stopSignal = args as NodeJS.Signals;
        break;
      case "USER":
      case "VOLUME":
      case "EXPOSE":
      case "ARG":
      case "LABEL":
        break;
      default:
        throw new Error(`unsupported instruction ${op}`);
    }
  }
  if (!stage) throw new Error("no stage");
  return stage;
}

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/** POSTs an empty ListModels to the gateway; resolves to the HTTP status. */
function listModels(port: number, ca: Buffer | undefined, authorization?: string): Promise<number> {
  const request = ca ? httpsRequest : httpRequest;
  return new Promise((done, fail) => {
    const req = request(
      { host: "127.0.0.1", port, method: "POST", path: "/switchboard.v1.AIService/ListModels", ca, headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) } },
      (res) => (res.resume(), done(res.statusCode!)),
    );
    req.on("error", fail);
    req.end("{}");
  });
}

/**
 * Starts the final stage's ENTRYPOINT + CMD as a container would, with `config`
 * as SWITCHBOARD_CONFIG when given, waits for its HEALTHCHECK (run in the
 * WORKDIR, as Docker runs it), checks it answers an authenticated call and
 * refuses an anonymous one (over TLS when `ca` is given), and stops it.
 */
async function runContainer(image: Stage, run: { name: string; config?: string; ca?: Buffer }): Promise<void> {
  const port = await freePort();
  const masterKey = `sk-dry-run-${process.pid}`;
  const env: Record<string, string> = {
    PATH: process.env.PATH!,
    ...image.env,
    PORT: String(port),
    HOST: "127.0.0.1",
    SWITCHBOARD_DATA_DIR: join(scratch, `data-${run.name}`),
    SWITCHBOARD_MASTER_KEY: masterKey,
    ...(run.config ? { SWITCHBOARD_CONFIG: run.config } : {}),
  };
  mkdirSync(env.SWITCHBOARD_DATA_DIR!, { recursive: true });
  const [program, ...args] = [...image.entrypoint, ...image.cmd];
  const workdir = inStage(image, ".");
  container = spawn(program!, args, { cwd: workdir, env, stdio: ["ignore", "ignore", "inherit"] });
  const exited = new Promise<number | null>((done) => container!.once("exit", (code) => done(code)));

  let healthy = false;
  for (let i = 0; i < 50 && !healthy; i++) {
    await new Promise((done) => setTimeout(done, 200));
    const [check, ...checkArgs] = image.healthcheck;
    healthy = await new Promise((done) => spawn(check!, checkArgs, { cwd: workdir, env, stdio: "ignore" }).once("exit", (code) => done(code === 0)));
  }
  if (!healthy) throw new Error(`${run.name}: the HEALTHCHECK never passed`);

  const [authorized, anonymous] = [await listModels(port, run.ca, `Bearer ${masterKey}`), await listModels(port, run.ca)];
  if (authorized !== 200) throw new Error(`${run.name}: an authenticated ListModels got HTTP ${authorized}`);
  if (anonymous !== 401) throw new Error(`${run.name}: an anonymous ListModels got HTTP ${anonymous}, not 401`);

  container.kill(image.stopSignal);
  const code = await exited;
  if (code !== 0) throw new Error(`${run.name}: ${image.stopSignal} ended the gateway with exit code ${code}, not 0`);
}

async function main(): Promise<void> {
  const onImageNode = runOnImageNode();
  if (onImageNode !== undefined) {
    process.exitCode = onImageNode;
    return;
  }
  const image = build();
  for (const line of image.skipped) console.error(`[${image.name}] not run here (root filesystem): RUN ${line}`);
  await runContainer(image, { name: "plain" });
  // server.tls: the port speaks only TLS, and the HEALTHCHECK must follow it there.
  const tls = join(scratch, "tls");
  mkdirSync(tls);
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=switchboard", "-addext", "subjectAltName=DNS:switchboard,IP:127.0.0.1",
    "-keyout", join(tls, "tls.key"), "-out", join(tls, "tls.crt"),
  ], { stdio: "ignore" });
  writeFileSync(join(tls, "switchboard.yaml"), `server:\n  tls:\n    cert_file: ${join(tls, "tls.crt")}\n    key_file: ${join(tls, "tls.key")}\n`);
  await runContainer(image, { name: "tls", config: join(tls, "switchboard.yaml"), ca: readFileSync(join(tls, "tls.crt")) });
  console.log(`${dockerfile.slice(context.length + 1)}: built; healthy, answered and stopped cleanly (${image.stopSignal} → exit 0), in plain HTTP and with server.tls`);
}

main()
  .catch((err: Error) => {
    console.error(`dockerfile dry run: ${err.message}`);
    process.exitCode = 1;
  })
  .finally(() => {
    if (container?.exitCode === null) container.kill("SIGKILL");
    rmSync(scratch, { recursive: true, force: true });
  });
