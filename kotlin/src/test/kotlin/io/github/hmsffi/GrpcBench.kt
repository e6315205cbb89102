/**
 * grpc-java beside hms-ffi in benches/kotlin/bench.py: a 64-byte echo (Blob{data} encoded, as
 * grpcio and grpc-go are given) over a unix socket through grpc-netty and netty's epoll
 * transport, server and client in two JVMs. No protoc: the method descriptor carries byte arrays
 * with an identity marshaller and the service is registered by hand, so grpc-java does no
 * protobuf work at all. Default executors on both sides (no directExecutor), like grpcio and
 * grpc-go in the same table.
 *
 *     grpcbench serve /tmp/g.sock         # the echo server until SIGTERM ("ready" once up)
 *     grpcbench client /tmp/g.sock N      # N sequential calls; one p50/p99 line
 */
package io.github.hmsffi

import io.grpc.CallOptions
import io.grpc.MethodDescriptor
import io.grpc.ServerServiceDefinition
import io.grpc.netty.NettyChannelBuilder
import io.grpc.netty.NettyServerBuilder
import io.grpc.stub.ClientCalls
import io.grpc.stub.ServerCalls
import io.netty.channel.MultiThreadIoEventLoopGroup
import io.netty.channel.epoll.Epoll
import io.netty.channel.epoll.EpollDomainSocketChannel
import io.netty.channel.epoll.EpollIoHandler
import io.netty.channel.epoll.EpollServerDomainSocketChannel
import io.netty.channel.unix.DomainSocketAddress
import java.io.InputStream
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.TimeUnit
import java.util.logging.Level
import java.util.logging.Logger
import kotlin.system.exitProcess

private object BytesMarshaller : MethodDescriptor.Marshaller<ByteArray> {
    override fun stream(value: ByteArray): InputStream = value.inputStream()
    override fun parse(stream: InputStream): ByteArray = stream.readAllBytes()
}

private val ECHO: MethodDescriptor<ByteArray, ByteArray> =
    MethodDescriptor.newBuilder(BytesMarshaller, BytesMarshaller)
        .setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName(MethodDescriptor.generateFullMethodName("bench.v1.Echo", "Echo"))
        .build()

// grpc-netty sets SO_KEEPALIVE on every channel and netty warns, once per connection, that a
// domain socket has no such option; harmless, so keep it off stderr (held: JUL keeps weak refs).
@Suppress("unused")
private val bootstrapLog = Logger.getLogger("io.netty.bootstrap").apply { level = Level.SEVERE }

private fun epollGroup(threads: Int) = MultiThreadIoEventLoopGroup(threads, EpollIoHandler.newFactory())

fun main(args: Array<String>) {
    when (args.getOrNull(0)) {
        "serve" -> {
            Epoll.ensureAvailability() // the native epoll library, or the reason it did not load
            val path = Path.of(args[1])
            Files.deleteIfExists(path)
            val service = ServerServiceDefinition.builder("bench.v1.Echo")
                .addMethod(ECHO, ServerCalls.asyncUnaryCall { req, reply -> reply.onNext(req); reply.onCompleted() })
                .build()
            val server = NettyServerBuilder.forAddress(DomainSocketAddress(path.toString()))
                .channelType(EpollServerDomainSocketChannel::class.java)
                .bossEventLoopGroup(epollGroup(1))
                .workerEventLoopGroup(epollGroup(1))
                .addService(service)
                .build()
                .start()
            Runtime.getRuntime().addShutdownHook(Thread {
                server.shutdown().awaitTermination(5, TimeUnit.SECONDS)
                Files.deleteIfExists(path)
            })
            println("ready")
            System.out.flush()
            server.awaitTermination()
        }
        "client" -> {
            val n = args.getOrNull(2)?.toInt() ?: 20000
            val wire = byteArrayOf(0x0a, 0x40) + ByteArray(64) { it.toByte() } // Blob{data: payload}
            Epoll.ensureAvailability()
            val group = epollGroup(1)
            val channel = NettyChannelBuilder.forAddress(DomainSocketAddress(args[1]))
                .channelType(EpollDomainSocketChannel::class.java)
                .eventLoopGroup(group)
                .overrideAuthority("localhost")
                .usePlaintext()
                .build()
            try {
                val call = { ClientCalls.blockingUnaryCall(channel, ECHO, CallOptions.DEFAULT, wire) }
                check(call().contentEquals(wire)) { "grpc-java echo returned other bytes" }
                measure("grpc-java unix", n) { call() }
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS)
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS)
            }
        }
        else -> {
            System.err.println("usage: grpcbench serve PATH | grpcbench client PATH [N]")
            exitProcess(2)
        }
    }
}
