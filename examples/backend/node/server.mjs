// A wsgate hook backend in Node 20+, built-in modules only (docs/backend.md):
// it admits a handshake that carries the cookie session=ok, echoes each send
// frame back to its sender, and logs the events. Run it beside a node started
// with --hook-url http://127.0.0.1:9000/ --hook-connect --hook-message and the
// same WSGATE_HOOK_SECRET.
import { createServer } from "node:http";
import { createHmac, timingSafeEqual } from "node:crypto";

const secret = process.env.WSGATE_HOOK_SECRET ?? ""; // the node's --hook-secret
if (Buffer.byteLength(secret) < 16) throw new Error("WSGATE_HOOK_SECRET must be set, 16 bytes or more");
const addr = process.env.ADDR ?? "127.0.0.1:9000";
const tolerance = 300; // seconds either way: hook.DefaultTolerance

// verify makes hook.Verify's checks: one timestamp within the tolerance, and
// a v1 value of X-Wsgate-Signature (there may be several while the secret
// rotates) equal to HMAC-SHA256(secret, timestamp + "." + body).
function verify(headers, body) {
  const ts = headers["x-wsgate-timestamp"] ?? "";
  if (!/^\d{1,18}$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > tolerance) return false;
  const want = createHmac("sha256", secret).update(`${ts}.`).update(body).digest();
  return (headers["x-wsgate-signature"] ?? "").split(",").some((v) => {
    const m = /^v1=([0-9a-fA-F]{64})$/.exec(v.trim());
    return m !== null && timingSafeEqual(Buffer.from(m[1], "hex"), want);
  });
}

function answer(req) {
  switch (req.type) {
    case "connect": {
      const cookies = (req.headers?.Cookie ?? []).flatMap((h) => h.split(";").map((c) => c.trim()));
      return cookies.includes("session=ok") ? { allow: true, user: "demo" } : { allow: false, status: 401, reason: "no session" };
    }
    case "message":
      return { reply: { echo: req.data } };
    case "events":
      for (const e of req.events ?? []) console.log("event", JSON.stringify(e));
  }
  return null; // 204: nothing to say
}

createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on("data", (chunk) => {
    size += chunk.length;
    if (size > 1 << 20) req.destroy();
    else chunks.push(chunk);
  });
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    if (req.method !== "POST" || !verify(req.headers, body)) return res.writeHead(401).end("bad signature\n");
    let out;
    try {
      out = answer(JSON.parse(body.toString()));
    } catch {
      return res.writeHead(400).end("bad body\n");
    }
    if (out === null) return res.writeHead(204).end();
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(out));
  });
}).listen(Number(addr.slice(addr.lastIndexOf(":") + 1)), addr.slice(0, addr.lastIndexOf(":")));
