'use strict'
// The greeter example in Node.js: the same service as examples/rust/greeter.rs.
//
//   node examples/node/greeter.js serve unix:///tmp/greeter.sock   # a server (Ctrl-C stops)
//   node examples/node/greeter.js call unix:///tmp/greeter.sock Ada
//   node examples/node/greeter.js both                             # one process, inproc://
//
// It uses the installed package: `make node-install` puts it under target/node-app, and the
// make targets run this file with NODE_PATH pointing there.

const path = require('node:path')
const hms = require('hms-ffi')

const PROTO = path.join(__dirname, '..', 'protos', 'greeter.proto')

function makeServer () {
  const server = new hms.Server(hms.Schema.load(PROTO))
  server.method('demo.v1.Greeter/SayHello', (req, ctx) => {
    if (!req.name) {
      throw new hms.InvalidArgument('name must not be empty', {
        fieldViolations: [{ field: 'name', description: 'empty' }]
      })
    }
    console.log(`[node server] ${ctx.method} from ${ctx.peer}`)
    const text = Array(Math.max(1, req.times)).fill(`Hello ${req.name} from Node`).join(', ')
    return { message: text, at: new Date() }
  })
  server.method('demo.v1.Greeter/Echo', async (req) => req)
  // A server-streaming handler is an async generator: each yield is one reply, sent as the
  // caller reads it.
  server.method('demo.v1.Greeter/Chatter', async function * (req) {
    for (let i = 0; i < (req.times || 3); i++) yield { message: `#${i} hi ${req.name} from Node`, at: new Date() }
  })
  return server
}

async function call (uri, name) {
  const client = await hms.connect(uri)
  console.log(`[node client] methods: ${client.methods().map((m) => m.name).join(', ')}`)
  const reply = await client.call('demo.v1.Greeter/SayHello', { name, times: 2 }, { timeoutMs: 5000 })
  console.log(`[node client] SayHello -> '${reply.message}' at ${reply.at.toISOString()}`)
  try {
    for await (const item of client.stream('demo.v1.Greeter/Chatter', { name, times: 2 }, { timeoutMs: 5000 })) {
      console.log(`[node client] Chatter -> '${item.message}'`)
    }
  } catch (e) {
    if (!(e instanceof hms.Unimplemented)) throw e
    console.log(`[node client] Chatter: ${e.message}`) // a server in a language without streams yet
  }
  try {
    await client.call('demo.v1.Greeter/SayHello', { name: 42 })
  } catch (e) {
    if (!(e instanceof hms.InvalidArgument)) throw e
    console.log(`[node client] a wrong type is refused: ${e.message}`)
  }
  try {
    await client.call('demo.v1.Greeter/SayHello', { name: '' })
  } catch (e) {
    if (!(e instanceof hms.HmsError)) throw e
    console.log(`[node client] the handler's error comes back typed: ${e.name}: ${e.message} (from ${e.details.origin?.language})`)
  }
  client.close()
}

async function main (argv) {
  const mode = argv[2] || 'both'
  if (mode === 'serve') {
    const server = makeServer()
    const uri = argv[3] || 'unix:///tmp/hms-greeter.sock'
    await server.listen(uri)
    console.log(`[node server] listening on ${uri}; Ctrl-C stops`)
    const stop = () => server.shutdown({ graceMs: 1000 })
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  } else if (mode === 'call') {
    await call(argv[3], argv[4] || 'Ada')
  } else {
    const server = makeServer()
    const uri = await server.listen('inproc://greeter')
    await call(uri, argv[3] || 'Ada')
    await server.shutdown()
  }
}

main(process.argv).catch((e) => {
  console.error(e)
  process.exit(1)
})
