/**
 * A gRPC service for the tests and the bench, defined by hand for
 * @grpc/grpc-js (no .proto, no protoc): messages are JSON objects, serialized
 * as UTF-8 JSON. The wire format is real gRPC (length-prefixed messages over
 * HTTP/2, grpc-status in trailers); only the message encoding is not protobuf,
 * which the gateway never looks at.
 */
import * as grpc from "@grpc/grpc-js";

export interface EchoMessage {
  text: string;
  /** Who answered: the server's id. */
  from?: string;
  /** For ServerStream: how many answers to send, and the pause before each. */
  count?: number;
  intervalMs?: number;
  /** For Unary: how long to wait before answering (deadline tests). */
  delayMs?: number;
}

const serialize = (value: EchoMessage): Buffer => Buffer.from(JSON.stringify(value));
const deserialize = (bytes: Buffer): EchoMessage => JSON.parse(bytes.toString("utf8")) as EchoMessage;

function method<Req extends boolean, Res extends boolean>(name: string, requestStream: Req, responseStream: Res) {
  return {
    path: `/test.Echo/${name}`,
    requestStream,
    responseStream,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
    originalName: name,
  };
}

/** The package-qualified service name: the first segment of every method's path. */
export const ECHO_SERVICE_PATH = "/test.Echo";

export const ECHO_DEFINITION = {
  Unary: method("Unary", false, false),
  ServerStream: method("ServerStream", false, true),
  ClientStream: method("ClientStream", true, false),
  Bidi: method("Bidi", true, true),
} satisfies grpc.ServiceDefinition;

export interface EchoClient extends grpc.Client {
  Unary(request: EchoMessage, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<EchoMessage>): grpc.ClientUnaryCall;
  ServerStream(request: EchoMessage, metadata?: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<EchoMessage>;
  ClientStream(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<EchoMessage>): grpc.ClientWritableStream<EchoMessage>;
  Bidi(metadata?: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<EchoMessage, EchoMessage>;
}

const EchoClientConstructor = grpc.makeGenericClientConstructor(ECHO_DEFINITION, "Echo") as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => EchoClient;

/** A client of the Echo service at host:port, over h2c (or TLS with `credentials`). */
export function echoClient(address: string, credentials = grpc.credentials.createInsecure(), options: grpc.ChannelOptions = {}): EchoClient {
  return new EchoClientConstructor(address, credentials, options);
}

/** Unary as a promise, with the answer's trailing metadata. */
export function unary(client: EchoClient, request: EchoMessage, options: grpc.CallOptions = {}, metadata = new grpc.Metadata()): Promise<{ answer: EchoMessage; trailers: grpc.Metadata }> {
  return new Promise((resolve, reject) => {
    let outcome: { err: grpc.ServiceError | null; answer: EchoMessage | undefined } | undefined;
    const call = client.Unary(request, metadata, options, (err, answer) => {
      outcome = { err, answer };
    });
    // The status (with the trailers) comes after the callback.
    call.on("status", (status: grpc.StatusObject) => {
      if (outcome?.err) reject(outcome.err);
      else if (outcome?.answer !== undefined) resolve({ answer: outcome.answer, trailers: status.metadata });
      else reject(new Error(`the call ended with status ${status.code} and no answer`));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The Echo implementation: Unary answers with the text (after `delayMs`) and
 * a trailer `x-echo-from`; ServerStream sends `count` answers; ClientStream
 * joins the texts it received; Bidi answers each message. A request whose
 * text is "fail" gets status NOT_FOUND with a message.
 */
export function echoImplementation(id: string): grpc.UntypedServiceImplementation {
  return {
    Unary(call: grpc.ServerUnaryCall<EchoMessage, EchoMessage>, callback: grpc.sendUnaryData<EchoMessage>) {
      const { text, delayMs = 0 } = call.request;
      const trailers = new grpc.Metadata();
      trailers.set("x-echo-from", id);
      const seen = call.metadata.get("x-test-header");
      if (seen.length > 0) trailers.set("x-echo-header", String(seen[0]));
      void sleep(delayMs).then(() => {
        if (call.cancelled) return;
        if (text === "fail") callback({ code: grpc.status.NOT_FOUND, details: "no such thing" }, null, trailers);
        else callback(null, { text, from: id }, trailers);
      });
    },
    async ServerStream(call: grpc.ServerWritableStream<EchoMessage, EchoMessage>) {
      const { text, count = 3, intervalMs = 0 } = call.request;
      for (let i = 0; i < count && !call.cancelled; i++) {
        if (intervalMs > 0) await sleep(intervalMs);
        call.write({ text: `${text} ${i}`, from: id });
      }
      call.end();
    },
    ClientStream(call: grpc.ServerReadableStream<EchoMessage, EchoMessage>, callback: grpc.sendUnaryData<EchoMessage>) {
      const texts: string[] = [];
      call.on("data", (message: EchoMessage) => texts.push(message.text));
      call.on("end", () => callback(null, { text: texts.join(","), from: id }));
    },
    Bidi(call: grpc.ServerDuplexStream<EchoMessage, EchoMessage>) {
      call.on("data", (message: EchoMessage) => call.write({ text: message.text, from: id }));
      call.on("end", () => call.end());
    },
  };
}

/** Starts an Echo server on 127.0.0.1:`port` (0: a free one); resolves with the port bound. */
export async function startEchoServer(id: string, port = 0): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(ECHO_DEFINITION, echoImplementation(id));
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, actual) => (err ? reject(err) : resolve(actual)));
  });
  return { server, port: bound };
}
