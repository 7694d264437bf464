// Reads {"cases": [Simulation, ...]} as JSON on stdin and prints one JSON list: for each case
// {"result": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied"} or {"error": ...}.
// One process for a whole matrix of requests. Uses @cloud-copilot/iam-simulate (pinned in
// package.json), an IAM evaluator nbsecrets did not write.
import { runSimulation } from '@cloud-copilot/iam-simulate'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const { cases } = JSON.parse(Buffer.concat(chunks).toString('utf8'))
async function simulate(simulation) {
  try {
    const response = await runSimulation(
      {
        identityPolicies: [],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...simulation
      },
      {}
    )
    if (response.resultType === 'error') {
      return { error: JSON.stringify(response.errors) }
    }
    return { result: response.overallResult }
  } catch (e) {
    return { error: String(e && e.stack ? e.stack : e) }
  }
}

// In batches: the simulator awaits its action and condition-key data, so requests overlap.
const out = []
const BATCH = 200
for (let i = 0; i < cases.length; i += BATCH) {
  out.push(...(await Promise.all(cases.slice(i, i + BATCH).map(simulate))))
}
process.stdout.write(JSON.stringify(out))
