// The ES module face of edge-session-express: the code is index.cjs, so an
// app that mixes `import` and `require` shares one copy of it.
import pkg from "./index.cjs";

export const {
  AUTHENTICATED_AT,
  MIN_GATEWAY_SECRET_BYTES,
  DEFAULT_INDEX_TTL_SECONDS,
  DEFAULT_MAX_SKEW_SECONDS,
  SIGNATURE_CONTEXT,
  indexKey,
  passportUserText,
  indexSession,
  indexLogin,
  loginTime,
  verifyGatewayHeaders,
  gatewaySession,
} = pkg;
