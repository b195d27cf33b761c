// Stack Auth contact channels driven by Stack's official JavaScript client (@stackframe/js,
// pinned in package.json) against the real `latchkey` binary, on SQLite and on PostgreSQL.
//
// The server app's REST interface is the client's own (`app._interface`, the methods its
// ServerUser objects call); the public `verifyEmail` of the client app completes verification.
// Users are made with the Stytch API, so the flow also shows both APIs share one user store.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";

import { BIN, engines, startServer, stopServer } from "./harness.mjs";

const require = createRequire(import.meta.url);
const { StackServerApp, StackClientApp } = require("@stackframe/js");
const { KnownErrors } = require("@stackframe/stack-shared");

/// A Stytch API call, with the project's Basic credentials.
async function stytch(server, method, path, body) {
  const auth = Buffer.from(`${server.project.project_id}:${server.project.secret}`).toString("base64");
  const response = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: { authorization: `Basic ${auth}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  assert.equal(response.status, 200, JSON.stringify(json));
  return json;
}

const uuidOf = (id) => id.slice(-36);
const uniqueEmail = (tag) => `${tag}.${crypto.randomUUID()}@example.com`;

function apps(server, secretServerKey = server.project.secret_server_key) {
  const options = {
    projectId: server.project.stack_project_id,
    publishableClientKey: server.project.publishable_client_key,
    baseUrl: server.baseUrl,
    tokenStore: "memory",
  };
  return {
    serverApp: new StackServerApp({ ...options, secretServerKey }),
    clientApp: new StackClientApp(options),
  };
}

for (const [engine, databaseUrl] of engines("latchkey-js-")) {
  let server;
  before(async () => {
    server = await startServer(databaseUrl(), "stack-js-suite");
  });
  after(async () => {
    await stopServer(server);
  });

  test(`${engine}: contact channels through @stackframe/js over the Stytch users`, async () => {
    const { serverApp, clientApp } = apps(server);
    const api = serverApp._interface;
    const email = uniqueEmail("stack-js");
    const { user } = await stytch(server, "POST", "/v1/users", { email });
    const userId = uuidOf(user.user_id);

    // A Stytch user's email is a Stack contact channel.
    const [first] = await api.listServerContactChannels(userId);
    assert.deepEqual(first, {
      user_id: userId, id: uuidOf(user.emails[0].email_id), value: email, type: "email",
      used_for_auth: true, is_verified: false, is_primary: true,
    });

    // Create and update through Stack; the Stytch API sees the same rows.
    const second = await api.createServerContactChannel({
      user_id: userId, value: uniqueEmail("second"), type: "email", used_for_auth: false, is_primary: true,
    });
    assert.equal(second.is_primary, true);
    const renamed = uniqueEmail("renamed");
    const updated = await api.updateServerContactChannel(userId, second.id, { value: renamed, used_for_auth: true });
    assert.equal(updated.value, renamed);
    let stytchUser = await stytch(server, "GET", `/v1/users/${user.user_id}`);
    assert.deepEqual(stytchUser.emails.map((e) => e.email), [email, renamed]);

    // Verification: the code goes to the outbox, which the operator reads with the CLI.
    await api.sendServerContactChannelVerificationEmail(userId, second.id, "https://app.example.com/verify");
    const [message] = execFileSync(BIN, [
      "project", "outbox", "--project-id", server.project.project_id, "--limit", "1",
      "--database-url", server.databaseUrl,
    ], { env: server.env }).toString().trim().split("\n").map((line) => JSON.parse(line));
    assert.equal(message.to, renamed);
    const code = new URL(message.body.match(/https:\/\/\S+/)[0]).searchParams.get("code");
    const verified = await clientApp.verifyEmail(code);
    assert.equal(verified.status, "ok");
    const again = await clientApp.verifyEmail(code);
    assert.equal(again.status, "error");
    assert.ok(KnownErrors.VerificationCodeAlreadyUsed.isInstance(again.error), String(again.error));
    stytchUser = await stytch(server, "GET", `/v1/users/${user.user_id}`);
    assert.equal(stytchUser.emails[1].verified, true);

    // Known errors arrive as the client's own error classes.
    const { user: other } = await stytch(server, "POST", "/v1/users", { email: uniqueEmail("other") });
    await assert.rejects(
      api.createServerContactChannel({ user_id: uuidOf(other.user_id), value: email, type: "email", used_for_auth: true }),
      (error) => KnownErrors.ContactChannelAlreadyUsedForAuthBySomeoneElse.isInstance(error),
    );
    await assert.rejects(
      apps(server, "ssk_not-the-key").serverApp._interface.listServerContactChannels(userId),
      (error) => KnownErrors.InvalidSecretServerKey.isInstance(error),
    );

    await api.deleteServerContactChannel(userId, second.id);
    const remaining = await api.listServerContactChannels(userId);
    assert.deepEqual(remaining.map((c) => c.value), [email]);
    stytchUser = await stytch(server, "GET", `/v1/users/${user.user_id}`);
    assert.equal(stytchUser.emails.length, 1);
  });

  test(`${engine}: a throttled verification email fails at once through @stackframe/js`, async () => {
    const api = apps(server).serverApp._interface;
    const { user } = await stytch(server, "POST", "/v1/users", { email: uniqueEmail("throttled") });
    const userId = uuidOf(user.user_id);
    const [channel] = await api.listServerContactChannels(userId);
    const send = () => api.sendServerContactChannelVerificationEmail(userId, channel.id, "https://app.example.com/verify");
    for (let i = 0; i < 5; i++) await send();
    // A known error, so the client raises it instead of sleeping out Retry-After and retrying.
    const started = Date.now();
    await assert.rejects(send(), (error) => String(error).includes("TOO_MANY_VERIFICATION_EMAILS"));
    assert.ok(Date.now() - started < 5000, "the client did not wait to retry");
  });
}
