'use strict'
// One Node server serving two revisions of acme.v1 side by side (docs/evolution.md, "Two
// versions side by side"):
//
//   node examples/versions/server.js unix:///tmp/acme.sock [grpc://127.0.0.1:7070 …]
//
// It prints "listening URI …" and stops on SIGTERM or Ctrl-C.
//
// Revision 2 is the main schema. SayHello has been rewritten against it; its revision 1 handler
// stays for callers built against revision 1. SayGoodbye has not been migrated yet: its
// revision 1 handler also answers revision 2 callers through a bridge (fields by number).
// It uses the installed package: `make node-install` puts it under target/node-app.

const path = require('node:path')
const hms = require('hms-ffi')

const proto = (rev) => path.join(__dirname, 'proto', rev, 'acme', 'v1', 'greeter.proto')

async function main () {
  const uris = process.argv.length > 2 ? process.argv.slice(2) : ['unix:///tmp/acme-versions.sock']
  const server = new hms.Server(hms.Schema.load(proto('rev2')))
  server.addRevision('rev1', hms.Schema.load(proto('rev1')))

  // Revision 2's handler, written against revision 2's field names.
  server.method('acme.v1.Greeter/SayHello', (req) => {
    const text = req.locale === 'fr' ? `Bonjour ${req.full_name}` : `Hello ${req.full_name}`
    return { text, length: text.length }
  })
  // Revision 1's handlers, unchanged since revision 1.
  server.method('acme.v1.Greeter/SayHello', (req) => ({ message: `Hello ${req.name} (v1)` }), { revision: 'rev1' })
  server.method('acme.v1.Greeter/SayGoodbye', (req) => ({ message: `Goodbye ${req.name}` }), { revision: 'rev1' })
  // Not migrated yet: revision 2 callers of SayGoodbye reach the revision 1 handler.
  server.bridge('rev1', 'acme.v1.Greeter/SayGoodbye')

  const bound = []
  for (const uri of uris) bound.push(await server.listen(uri))
  console.log(`listening ${bound.join(' ')} revisions ${JSON.stringify(server.revisions)}`)
  const stop = () => server.shutdown({ graceMs: 1000 }).then(() => process.exit(0))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
