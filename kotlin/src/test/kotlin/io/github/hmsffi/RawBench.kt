/**
 * The floor of benches/kotlin/bench.py: a 64-byte echo over a unix socket with nothing but
 * java.nio (UnixDomainSocketAddress, Java 16+), server and client in two JVMs. Each call writes
 * a 4-byte big-endian length and the body; the server reads them and writes both back.
 *
 *     rawbench serve /tmp/r.sock          # the echo server until SIGTERM ("ready" once up)
 *     rawbench client /tmp/r.sock N       # N sequential calls; one p50/p99 line
 */
package io.github.hmsffi

import java.io.EOFException
import java.net.StandardProtocolFamily
import java.net.UnixDomainSocketAddress
import java.nio.ByteBuffer
import java.nio.channels.ServerSocketChannel
import java.nio.channels.SocketChannel
import java.nio.file.Files
import java.nio.file.Path
import kotlin.system.exitProcess

private fun SocketChannel.readFully(buf: ByteBuffer) {
    while (buf.hasRemaining()) if (read(buf) < 0) throw EOFException()
}

private fun SocketChannel.writeFully(vararg bufs: ByteBuffer) {
    while (bufs.any { it.hasRemaining() }) write(bufs)
}

/** Echoes length-prefixed frames on `conn` until the peer closes. */
private fun echo(conn: SocketChannel) = conn.use {
    val head = ByteBuffer.allocateDirect(4)
    var body = ByteBuffer.allocateDirect(1024)
    try {
        while (true) {
            head.clear()
            conn.readFully(head)
            val len = head.getInt(0)
            if (len > body.capacity()) body = ByteBuffer.allocateDirect(len)
            body.clear().limit(len)
            conn.readFully(body)
            head.flip()
            body.flip()
            conn.writeFully(head, body)
        }
    } catch (_: EOFException) {
    }
}

/** One connection; [call] sends a frame and returns the frame that comes back. */
private class RawClient(path: String) : AutoCloseable {
    private val conn = SocketChannel.open(UnixDomainSocketAddress.of(path))
    private val head = ByteBuffer.allocateDirect(4)
    private var body = ByteBuffer.allocateDirect(1024)

    fun call(req: ByteArray): ByteArray {
        if (req.size > body.capacity()) body = ByteBuffer.allocateDirect(req.size)
        head.clear()
        head.putInt(0, req.size)
        body.clear()
        body.put(req).flip()
        conn.writeFully(head, body)
        head.clear()
        conn.readFully(head)
        val len = head.getInt(0)
        val reply = ByteBuffer.allocate(len)
        conn.readFully(reply)
        return reply.array()
    }

    override fun close() = conn.close()
}

fun main(args: Array<String>) {
    when (args.getOrNull(0)) {
        "serve" -> {
            val path = Path.of(args[1])
            Files.deleteIfExists(path)
            val listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)
            listener.bind(UnixDomainSocketAddress.of(path))
            Runtime.getRuntime().addShutdownHook(Thread { listener.close(); Files.deleteIfExists(path) })
            println("ready")
            System.out.flush()
            while (true) {
                val conn = try { listener.accept() } catch (_: java.io.IOException) { break }
                Thread { echo(conn) }.apply { isDaemon = true }.start()
            }
        }
        "client" -> {
            val n = args.getOrNull(2)?.toInt() ?: 20000
            val payload = ByteArray(64) { it.toByte() }
            RawClient(args[1]).use { client ->
                check(client.call(payload).contentEquals(payload)) { "raw echo returned other bytes" }
                measure("unix raw-socket", n) { client.call(payload) }
            }
        }
        else -> {
            System.err.println("usage: rawbench serve PATH | rawbench client PATH [N]")
            exitProcess(2)
        }
    }
}
