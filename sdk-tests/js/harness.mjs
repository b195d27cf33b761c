// The harness both suites share: the real `latchkey` binary started on a fresh SQLite file and
// on the shared PostgreSQL test database, one project made by `latchkey project create`.

import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.LATCHKEY_BIN ?? join(here, "../../target/debug/latchkey");
const POSTGRES_URL = process.env.LATCHKEY_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
// The HTTP and Python suites' key for the shared PostgreSQL test database.
const TEST_SECRETS_KEY = "bGF0Y2hrZXktdGVzdC12YXVsdC1rZXktMzItYnl0ZXM=";

function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/// A running server with a new project named `name`: {project, baseUrl, child, databaseUrl, env}.
export async function startServer(databaseUrl, name) {
  const env = { ...process.env };
  delete env.LATCHKEY_SECRETS_KEY;
  if (!databaseUrl.startsWith("sqlite")) env.LATCHKEY_SECRETS_KEY = TEST_SECRETS_KEY;
  const project = JSON.parse(
    execFileSync(BIN, ["project", "create", "--name", name, "--database-url", databaseUrl], { env }).toString(),
  );
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const child = spawn(BIN, ["serve", "--listen", `127.0.0.1:${port}`, "--database-url", databaseUrl], {
    env,
    stdio: ["ignore", "ignore", process.env.LATCHKEY_TEST_LOGS ? "inherit" : "ignore"],
  });
  for (let attempt = 0; ; attempt++) {
    try {
      if ((await fetch(`${baseUrl}/readyz`)).ok) break;
    } catch {}
    if (attempt > 300) throw new Error("latchkey did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  return { project, baseUrl, child, databaseUrl, env };
}

export function stopServer(server) {
  return new Promise((resolve) => {
    server.child.on("exit", (code) => {
      assert.equal(code, 0, "latchkey must exit cleanly on SIGTERM");
      resolve();
    });
    server.child.kill("SIGTERM");
  });
}

/// The engines to run on, each with the database URL to give a new server.
export function engines(prefix) {
  const list = [["sqlite", () => `sqlite://${mkdtempSync(join(tmpdir(), prefix))}/latchkey.db`]];
  if (process.env.LATCHKEY_SKIP_POSTGRES !== "1") list.push(["postgres", () => POSTGRES_URL]);
  return list;
}
