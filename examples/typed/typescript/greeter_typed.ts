// A typed TypeScript client and server of demo.v1.Greeter, from `hms-ffi gen --lang typescript`.
//
//   node greeter_typed.js serve unix:///tmp/g.sock   # a typed server, until SIGTERM
//   node greeter_typed.js call unix:///tmp/g.sock    # a typed client of any greeter server
//   node greeter_typed.js both                       # both, in one process (inproc://)
//
// `make test-gen` compiles it with `tsc --strict` (tsconfig.json here) and runs it against every
// language's typed server, the server-streaming Chatter included.
import { connect, Schema, Server } from 'hms-ffi'
import { GreeterClient, GreeterService, HelloReplyInit, HelloRequest, registerGreeter } from '../../../gen/typescript/demo_v1_hms'

class Greeter implements GreeterService {
  sayHello (request: HelloRequest): HelloReplyInit {
    return { message: `Hello ${request.name} from TypeScript` }
  }

  async echo (request: HelloRequest): Promise<HelloRequest> {
    return request
  }

  async * chatter (request: HelloRequest): AsyncIterable<HelloReplyInit> {
    for (let i = 0; i < request.times; i++) yield { message: `#${i} hi ${request.name}` }
  }
}

function newServer (): Server {
  return registerGreeter(new Server(Schema.load('examples/protos/greeter.proto')), new Greeter())
}

async function call (uri: string): Promise<void> {
  const greeter = new GreeterClient(await connect(uri), { timeoutMs: 5000 })
  const reply = await greeter.sayHello({ name: 'Ada' })
  console.log(reply.message)
  try {
    for await (const r of greeter.chatter({ name: 'Ada', times: 2 })) console.log(r.message)
  } catch (e: unknown) {
    console.log(`(Chatter: ${e instanceof Error ? e.message : String(e)})`)
  }
  greeter.client.close()
}

async function main (argv: string[]): Promise<void> {
  if (argv[0] === 'serve') {
    const server = newServer()
    console.log(await server.listen(argv[1]))
    process.once('SIGTERM', () => { server.shutdown().catch(() => {}) })
  } else if (argv[0] === 'call') {
    await call(argv[1])
  } else {
    const server = newServer()
    await server.listen('inproc://typed-greeter-ts')
    await call('inproc://typed-greeter-ts')
    await server.shutdown()
  }
}

main(process.argv.slice(2)).catch((e: unknown) => { console.error(e); process.exit(1) })
