// The test support family, in one import: how tests start things
// (processes), talk to them (api, cookies), watch Redis (monitor), write
// and read documents (documents), compare results (normalize) and measure
// built files (sizes).

export { setTimeout as sleep } from "node:timers/promises";
export * from "./config.mjs";
export * from "./processes.mjs";
export * from "./cookies.mjs";
export * from "./monitor.mjs";
export * from "./api.mjs";
export * from "./documents.mjs";
export * from "./normalize.mjs";
export * from "./sizes.mjs";
