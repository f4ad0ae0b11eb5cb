/**
 * An Echo gRPC server as a process of its own, so that a test can kill it
 * with SIGKILL mid-stream: `grpc-echo-main.ts <id> <port>`. Prints
 * "listening <port>" once bound.
 */
import { startEchoServer } from "./grpc-echo.js";

const [id = "grpc-1", port = "0"] = process.argv.slice(2);
const { port: bound } = await startEchoServer(id, Number(port));
console.log(`listening ${bound}`);
