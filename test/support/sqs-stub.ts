import { createHash, randomUUID } from "node:crypto"
import { createServer, type Server } from "node:http"

interface StoredMessage {
  readonly id: string
  readonly body: string
  receiveCount: number
  visibleAt: number
  receiptHandle: string
}

/**
 * A small SQS stub speaking the AWS JSON 1.0 protocol the SDK uses: SendMessage,
 * ReceiveMessage (with visibility timeout and ApproximateReceiveCount), DeleteMessage,
 * ChangeMessageVisibility. Queues are created on first use; nothing else of SQS is mimicked.
 */
export const startSqsStub = async () => {
  const queues = new Map<string, Array<StoredMessage>>()
  const calls: Array<string> = []
  const queue = (url: string) => {
    const name = new URL(url).pathname
    if (!queues.has(name)) queues.set(name, [])
    return queues.get(name)!
  }
  const md5 = (text: string) => createHash("md5").update(text).digest("hex")
  const server: Server = createServer((request, response) => {
    let raw = ""
    request.on("data", (chunk: Buffer) => void (raw += chunk.toString()))
    request.on("end", () => {
      const action = String(request.headers["x-amz-target"] ?? "").replace("AmazonSQS.", "")
      calls.push(action)
      const input = JSON.parse(raw || "{}") as Record<string, any>
      const reply = (body: unknown) => {
        response.writeHead(200, { "content-type": "application/x-amz-json-1.0" })
        response.end(JSON.stringify(body))
      }
      const messages = queue(input["QueueUrl"])
      switch (action) {
        case "SendMessage": {
          const message: StoredMessage = { id: randomUUID(), body: input["MessageBody"], receiveCount: 0, visibleAt: 0, receiptHandle: "" }
          messages.push(message)
          return reply({ MessageId: message.id, MD5OfMessageBody: md5(message.body) })
        }
        case "ReceiveMessage": {
          const now = Date.now()
          const visible = messages.filter((m) => m.visibleAt <= now).slice(0, input["MaxNumberOfMessages"] ?? 1)
          for (const m of visible) {
            m.receiveCount += 1
            m.visibleAt = now + 1000 * (input["VisibilityTimeout"] ?? 30)
            m.receiptHandle = randomUUID()
          }
          const answer = () =>
            reply({
              Messages: visible.map((m) => ({
                MessageId: m.id,
                ReceiptHandle: m.receiptHandle,
                MD5OfBody: md5(m.body),
                Body: m.body,
                Attributes: { ApproximateReceiveCount: String(m.receiveCount) }
              }))
            })
          // A short long-poll keeps idle consumers from spinning without slowing tests down.
          return visible.length > 0 ? answer() : setTimeout(answer, 100)
        }
        case "GetQueueAttributes":
          return reply({ Attributes: { ApproximateNumberOfMessages: String(messages.length), ApproximateNumberOfMessagesNotVisible: "0" } })
        case "DeleteMessage": {
          const index = messages.findIndex((m) => m.receiptHandle === input["ReceiptHandle"])
          if (index >= 0) messages.splice(index, 1)
          return reply({})
        }
        case "ChangeMessageVisibility": {
          const message = messages.find((m) => m.receiptHandle === input["ReceiptHandle"])
          if (message !== undefined) message.visibleAt = Date.now() + 1000 * input["VisibilityTimeout"]
          return reply({})
        }
        default:
          response.writeHead(400, { "content-type": "application/x-amz-json-1.0" })
          response.end(JSON.stringify({ __type: "com.amazonaws.sqs#InvalidAction", message: action }))
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  const endpoint = `http://127.0.0.1:${port}`
  return {
    endpoint,
    queueUrl: (name: string) => `${endpoint}/000000000000/${name}`,
    messages: (name: string) => queues.get(`/000000000000/${name}`) ?? [],
    calls,
    /** Makes every message visible now (skips a retry delay). */
    expediteAll: () => {
      for (const messages of queues.values()) for (const m of messages) m.visibleAt = 0
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
