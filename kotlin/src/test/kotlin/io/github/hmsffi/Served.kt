package io.github.hmsffi

import java.nio.file.Files

/**
 * The Kotlin conformance server on inproc and unix, with a client of each: the fixture of the
 * tests that run the shared vectors with Kotlin as client and as server ([flows]: its streaming
 * methods served by suspending `Flow` handlers). [close] stops it.
 */
class Served(name: String, flows: Boolean = false) : AutoCloseable {
    val server = Conformance.server(flows)
    private val dir = Files.createTempDirectory("hms-kotlin-$name-")
    val clients: Map<String, Client> = mapOf(
        "inproc" to Client.connect(server.listen("inproc://kotlin-$name")),
        "unix" to Client.connect(server.listen("unix://$dir/$name.sock")),
    )

    override fun close() {
        clients.values.forEach { it.close() }
        server.close()
        dir.toFile().deleteRecursively()
    }
}
