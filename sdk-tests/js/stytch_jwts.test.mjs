// Stytch's official Node SDK (`stytch`, pinned in package.json) validating session JWTs locally
// against the real `latchkey` binary, on SQLite and on PostgreSQL: each client accepts its own
// kind's JWTs and refuses the other kind's with an error of its own, never a TypeError.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { createRequire } from "node:module";

import { engines, startServer, stopServer } from "./harness.mjs";

const require = createRequire(import.meta.url);
const stytch = require("stytch");

// Seed 004's B2B TOTP secret (base32).
const MEMBER_SECRET = "BTGNX5RKJRMQWQFRQKTG34JCF6XDRHZS";
const PASSWORD = "vRIQomL!faE2S44s-lantern";

/// A Stytch API call made by hand, for what the Node SDK has no method for here.
async function call(server, path, body) {
  const auth = Buffer.from(`${server.project.project_id}:${server.project.secret}`).toString("base64");
  const response = await fetch(`${server.baseUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Basic ${auth}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  assert.equal(response.status, 200, JSON.stringify(json));
  return json;
}

/// RFC 6238 with SHA-1, six digits, 30-second steps: an authenticator app's code.
function totpCode(base32, unix = Math.floor(Date.now() / 1000)) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const char of base32) bits += alphabet.indexOf(char).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unix / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

for (const [engine, databaseUrl] of engines("latchkey-node-")) {
  let server;
  before(async () => {
    server = await startServer(databaseUrl(), "stytch-node-suite");
  });
  after(async () => {
    await stopServer(server);
  });

  test(`${engine}: each Node client accepts only its own kind's session JWTs`, async () => {
    const config = { project_id: server.project.project_id, secret: server.project.secret, env: server.baseUrl };
    const client = new stytch.Client(config);
    const b2bClient = new stytch.B2BClient(config);

    const consumer = await client.passwords.create({
      email: `node-${randomUUID()}@example.com`, password: PASSWORD, session_duration_minutes: 60,
    });
    const { organization } = await call(server, "/v1/b2b/organizations", {
      organization_name: "Node suite", organization_slug: `node-${randomUUID()}`,
    });
    const { member } = await call(server, `/v1/b2b/organizations/${organization.organization_id}/members`, {
      email_address: `node-member-${randomUUID()}@example.com`,
    });
    const ids = { organization_id: organization.organization_id, member_id: member.member_id };
    await call(server, "/v1/b2b/totp/migrate", { ...ids, secret: MEMBER_SECRET, recovery_codes: [] });
    const memberLogin = await call(server, "/v1/b2b/totp/authenticate", {
      ...ids, code: totpCode(MEMBER_SECRET), session_duration_minutes: 60,
    });

    const own = await client.sessions.authenticateJwtLocal({ session_jwt: consumer.session_jwt });
    assert.equal(own.user_id, consumer.user_id);
    const ownMember = await b2bClient.sessions.authenticateJwtLocal({ session_jwt: memberLogin.session_jwt });
    assert.equal(ownMember.member_id, member.member_id);
    assert.equal(ownMember.organization_id, organization.organization_id);

    // The other kind's JWT: refused as signed by a key the kind's key set does not have.
    for (const [sdk, jwt] of [[client, memberLogin.session_jwt], [b2bClient, consumer.session_jwt]]) {
      await assert.rejects(sdk.sessions.authenticateJwtLocal({ session_jwt: jwt }), (error) => {
        assert.ok(!(error instanceof TypeError), `a TypeError: ${error}`);
        return true;
      });
    }
  });
}
