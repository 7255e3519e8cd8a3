// The Express companion of `make dev`: the tests' reference app (the real
// express-session + connect-redis + Passport, tests/fixtures/express-app.mjs)
// on its own port of 127.0.0.1, on the demo's Redis, with the demo's
// secret. Cookies on 127.0.0.1 are shared across ports, so it serves the
// very session the worker's page shows: "Open this session in Express".
//
//   node scripts/express-companion.mjs --redis-url URL --port N --secret-file F --worker-url URL
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startExpress } from "../tests/fixtures/express-app.mjs";

const { values } = parseArgs({
  options: {
    "redis-url": { type: "string" },
    port: { type: "string", default: "3000" },
    "secret-file": { type: "string" },
    "worker-url": { type: "string", default: "http://127.0.0.1:8787/" },
  },
});
for (const required of ["redis-url", "secret-file"]) {
  if (!values[required]) {
    console.error(`express-companion: --${required} is required`);
    process.exit(2);
  }
}
const secret = readFileSync(values["secret-file"], "utf8").trim();
const app = await startExpress({
  redisUrl: values["redis-url"],
  options: { secret },
  port: Number(values.port),
  workerUrl: values["worker-url"],
});
console.log(`express companion on ${app.url}`);
const stop = async () => {
  await app.stop();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
