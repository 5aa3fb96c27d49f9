// The handler loop of the enitrunk-host executor's Node.js runtimes (nodejs20.x, nodejs22.x,
// nodejs24.x): loads `_HANDLER` from LAMBDA_TASK_ROOT, then asks the Runtime API for work and
// answers it, as https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html describes.
// Written here rather than taken from npm's aws-lambda-ric, whose install builds curl and
// aws-lambda-cpp from source with cmake and autotools and which requires Node.js 22 or later
// (localstack/README.md, "Node.js and Python functions on the host executor").
// CommonJS and only Node's own modules, so that every runtime's interpreter runs it as it is.
"use strict";

const http = require("http");
const path = require("path");
const url = require("url");
const util = require("util");

const API = process.env.AWS_LAMBDA_RUNTIME_API;
const PREFIX = "/2018-06-01/runtime";
const RUNTIME = (process.env.AWS_EXECUTION_ENV || "").replace(/^AWS_Lambda_/, "");
// Node.js 24 dropped callback handlers and context.done/succeed/fail
// (https://aws.amazon.com/blogs/compute/node-js-24-runtime-now-available-in-aws-lambda/).
const CALLBACKS = !/^nodejs(2[4-9]|[3-9]\d)/.test(RUNTIME);
// No keep-alive: an idle pooled socket would keep the event loop from draining, which is how a
// callback handler that never calls back ends (callbackWaitsForEmptyEventLoop).
const agent = new http.Agent({ keepAlive: false });

let currentRequestId = "";

function call(method, route, body, headers) {
  return new Promise((resolve, reject) => {
    const [host, port] = API.split(":");
    const data = body === undefined ? undefined : Buffer.from(body);
    const req = http.request(
      {
        host,
        port,
        method,
        agent,
        path: PREFIX + route,
        headers: { ...(headers || {}), ...(data ? { "Content-Length": data.length } : {}) },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

// Lambda's Node.js log format: timestamp, request id, level, message (one record per call).
function patchConsole() {
  const levels = { log: "INFO", info: "INFO", warn: "WARN", error: "ERROR", debug: "DEBUG", trace: "TRACE" };
  for (const [name, level] of Object.entries(levels)) {
    console[name] = (...args) => {
      const message = name === "trace" ? util.format(...args) + "\n" + new Error().stack.split("\n").slice(2).join("\n") : util.format(...args);
      process.stdout.write(`${new Date().toISOString()}\t${currentRequestId || "undefined"}\t${level}\t${message}\n`);
    };
  }
}

function errorPayload(err) {
  if (err instanceof Error) {
    return {
      errorType: err.name || "Error",
      errorMessage: err.message,
      trace: typeof err.stack === "string" ? err.stack.split("\n") : [],
    };
  }
  // A non-Error thrown or passed to the callback: Lambda reports it as a string error.
  return { errorType: "string", errorMessage: typeof err === "string" ? err : JSON.stringify(err), trace: [] };
}

async function loadHandler() {
  const spec = process.env._HANDLER || "";
  const dot = spec.lastIndexOf(".");
  if (dot <= 0 || dot === spec.length - 1) {
    throw Object.assign(new Error(`Bad handler ${spec}`), { name: "Runtime.MalformedHandlerName" });
  }
  const modulePath = path.resolve(process.env.LAMBDA_TASK_ROOT || process.cwd(), spec.slice(0, dot));
  const exportPath = spec.slice(dot + 1).split(".");
  let mod;
  for (const ext of [".js", ".mjs", ".cjs"]) {
    const file = modulePath + ext;
    if (!require("fs").existsSync(file)) continue;
    try {
      mod = ext === ".mjs" ? await import(url.pathToFileURL(file).href) : require(file);
    } catch (e) {
      if (e instanceof SyntaxError) throw Object.assign(e, { name: "Runtime.UserCodeSyntaxError" });
      throw e;
    }
    break;
  }
  if (mod === undefined) {
    throw Object.assign(new Error(`Cannot find module '${path.basename(modulePath)}'`), { name: "Runtime.ImportModuleError" });
  }
  let handler = mod;
  for (const key of exportPath) handler = handler == null ? undefined : handler[key];
  if (typeof handler !== "function") {
    throw Object.assign(new Error(`${spec} is undefined or not exported`), { name: "Runtime.HandlerNotFound" });
  }
  if (!CALLBACKS && handler.length >= 3) {
    // As Lambda's Node.js 24 runtime: a handler that declares a callback fails the init.
    throw Object.assign(
      new Error(`${spec} takes a callback, which ${RUNTIME} does not support: make it async (event, context) and return its result`),
      { name: "Runtime.CallbackHandlerDeprecated" },
    );
  }
  return handler;
}

function contextFor(headers, settle) {
  const deadline = Number(headers["lambda-runtime-deadline-ms"]);
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers["lambda-runtime-invoked-function-arn"],
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers["lambda-runtime-aws-request-id"],
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: undefined,
    clientContext: headers["lambda-runtime-client-context"] ? JSON.parse(headers["lambda-runtime-client-context"]) : undefined,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  if (CALLBACKS) {
    context.done = (err, result) => settle(err, result);
    context.succeed = (result) => settle(null, result);
    context.fail = (err) => settle(err === undefined || err === null ? new Error("handled") : err);
  }
  return context;
}

// One invocation's outcome: the handler's promise, its callback, context.done, or (callback
// handlers only) an event loop that drains with none of those, which answers null.
function runHandler(handler, event, headers) {
  return new Promise((resolve) => {
    let done = false;
    const settle = (err, result) => {
      if (done) return;
      done = true;
      process.removeListener("beforeExit", drained);
      resolve(err !== null && err !== undefined ? { error: err } : { result });
    };
    const drained = () => settle(null, null);
    const context = contextFor(headers, settle);
    let returned;
    try {
      returned = CALLBACKS ? handler(event, context, settle) : handler(event, context);
    } catch (e) {
      return settle(e);
    }
    if (returned && typeof returned.then === "function") {
      returned.then((r) => settle(null, r), (e) => settle(e === undefined || e === null ? new Error("null") : e));
    } else if (!CALLBACKS) {
      settle(null, returned);
    } else if (!done) {
      process.once("beforeExit", drained);
    }
  });
}

async function main() {
  patchConsole();
  let handler;
  try {
    handler = await loadHandler();
  } catch (e) {
    const payload = errorPayload(e);
    console.error(`Init Error \t${JSON.stringify(payload)}`);
    await call("POST", "/init/error", JSON.stringify(payload), {
      "Content-Type": "application/json",
      "Lambda-Runtime-Function-Error-Type": payload.errorType,
    });
    process.exit(1);
  }
  for (;;) {
    const next = await call("GET", "/invocation/next");
    if (next.status !== 200) {
      throw new Error(`runtime API answered ${next.status} to /invocation/next`);
    }
    const requestId = next.headers["lambda-runtime-aws-request-id"];
    currentRequestId = requestId;
    if (next.headers["lambda-runtime-trace-id"]) process.env._X_AMZN_TRACE_ID = next.headers["lambda-runtime-trace-id"];
    let outcome;
    try {
      outcome = await runHandler(handler, JSON.parse(next.body.toString("utf8") || "null"), next.headers);
    } catch (e) {
      outcome = { error: e };
    }
    if ("error" in outcome) {
      const payload = errorPayload(outcome.error);
      console.error(`Invoke Error \t${JSON.stringify(payload)}`);
      await call("POST", `/invocation/${requestId}/error`, JSON.stringify(payload), {
        "Content-Type": "application/json",
        "Lambda-Runtime-Function-Error-Type": payload.errorType,
      });
    } else {
      const body = outcome.result === undefined ? "null" : JSON.stringify(outcome.result);
      await call("POST", `/invocation/${requestId}/response`, body, { "Content-Type": "application/json" });
    }
    currentRequestId = "";
  }
}

// An error that escapes the handler after it answered: Lambda's runtime logs it and exits.
process.on("uncaughtException", (e) => {
  console.error(`Uncaught Exception \t${JSON.stringify(errorPayload(e))}`);
  process.exit(129);
});
process.on("unhandledRejection", (e) => {
  console.error(`Unhandled Promise Rejection \t${JSON.stringify(errorPayload(e))}`);
  process.exit(128);
});

main().catch((e) => {
  process.stderr.write(`runtime loop failed: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
