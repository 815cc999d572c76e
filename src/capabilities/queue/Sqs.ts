import { Duration, Effect, Option } from "effect"

export interface ReceivedMessage {
  readonly id: string
  readonly body: string
  readonly receiptHandle: string
  /** 1 on the first delivery. */
  readonly receiveCount: number
}

/** Long poll: an idle worker asks SQS about once per 20 s instead of spinning. */
const WAIT_SECONDS = 20
/** A job not finished in this long is delivered again (to this or another worker). */
const VISIBILITY_SECONDS = 60
const CALL_TIMEOUT = Duration.seconds(WAIT_SECONDS + 10)
/**
 * Sends happen inside the unit of work that needs the job (ADR 0012), holding a database
 * connection: a slow SQS must fail them quickly, not starve the pool.
 */
const SEND_TIMEOUT = Duration.seconds(5)

/** Retry delays grow with each delivery: 2, 4, 8 ... seconds, at most 15 minutes. */
export const retryDelaySeconds = (attempts: number) => Math.min(900, 2 ** Math.min(attempts + 1, 10))

/**
 * The four SQS calls the queue needs, each with a timeout and a tracing span. The SDK (about
 * 26 MiB of memory) is imported here, so processes on the PostgreSQL queue never load it.
 */
export const makeClient = Effect.fnUntraced(function*(options: {
  readonly endpoint: Option.Option<string>
  readonly region: string
}) {
  const {
    ChangeMessageVisibilityCommand,
    DeleteMessageCommand,
    GetQueueAttributesCommand,
    ReceiveMessageCommand,
    SendMessageCommand,
    SQSClient
  } = yield* Effect.promise(() => import("@aws-sdk/client-sqs"))
  const client = yield* Effect.acquireRelease(
    Effect.sync(() =>
      new SQSClient({
        region: options.region,
        maxAttempts: 3,
        ...Option.match(options.endpoint, { onNone: () => ({}), onSome: (endpoint) => ({ endpoint }) })
      })
    ),
    (client) => Effect.sync(() => client.destroy())
  )
  const call = <A>(name: string, run: (signal: AbortSignal) => Promise<A>, timeout = CALL_TIMEOUT) =>
    Effect.tryPromise({ try: run, catch: (cause) => cause }).pipe(
      Effect.timeout(timeout),
      Effect.withSpan(`sqs.${name}`)
    )
  return {
    send: (queueUrl: string, body: string) =>
      call("send", (abortSignal) => client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }), { abortSignal }), SEND_TIMEOUT).pipe(
        Effect.asVoid
      ),
    receive: (queueUrl: string) =>
      call("receive", (abortSignal) =>
        client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: WAIT_SECONDS,
            VisibilityTimeout: VISIBILITY_SECONDS,
            MessageSystemAttributeNames: ["ApproximateReceiveCount"]
          }),
          { abortSignal }
        )).pipe(
        Effect.map((output) =>
          (output.Messages ?? []).flatMap((message): Array<ReceivedMessage> =>
            message.MessageId === undefined || message.ReceiptHandle === undefined
              ? []
              : [{
                id: message.MessageId,
                body: message.Body ?? "",
                receiptHandle: message.ReceiptHandle,
                receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? "1")
              }]
          )
        )
      ),
    depth: (queueUrl: string) =>
      call("depth", (abortSignal) =>
        client.send(
          new GetQueueAttributesCommand({
            QueueUrl: queueUrl,
            AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
          }),
          { abortSignal }
        )).pipe(
        Effect.map((output) =>
          Number(output.Attributes?.ApproximateNumberOfMessages ?? 0) +
          Number(output.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
        )
      ),
    remove: (queueUrl: string, receiptHandle: string) =>
      call("delete", (abortSignal) =>
        client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle }), { abortSignal })).pipe(
        Effect.asVoid,
        Effect.catch((error) => Effect.logWarning("jobs: SQS delete failed; the job may run again", error))
      ),
    retryLater: (queueUrl: string, receiptHandle: string, attempts: number) =>
      call("changeVisibility", (abortSignal) =>
        client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: receiptHandle,
            VisibilityTimeout: retryDelaySeconds(attempts)
          }),
          { abortSignal }
        )).pipe(
        Effect.asVoid,
        Effect.catch((error) => Effect.logWarning("jobs: SQS visibility change failed; default retry applies", error))
      )
  }
})
