import { spawn } from "node:child_process"

/** `node src/main.ts` as a newcomer runs it, in its own process, with the given environment. */
export const startServer = (env: Record<string, string>) => {
  const child = spawn(process.execPath, ["src/main.ts"], {
    env: { PATH: process.env["PATH"] ?? "", HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (chunk: Buffer) => void (stdout += chunk.toString()))
  child.stderr!.on("data", (chunk: Buffer) => void (stderr += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const listening = new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (stdout.includes("listening on")) {
        clearInterval(timer)
        resolve()
      }
    }, 20)
    void exited.then((code) => {
      clearInterval(timer)
      reject(new Error(`server exited with ${code}: ${stderr}${stdout}`))
    })
  })
  listening.catch(() => {}) // awaited by the tests that expect a start; others watch `exited`
  return { child, exited, listening, output: () => ({ stdout, stderr }) }
}
