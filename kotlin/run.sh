#!/bin/sh
# Runs a main class of the Kotlin package (the matrix program, the benchmark) on the JVM with the
# classes and the dependency classpath left by `make kotlin-install`, and the native library of
# target/debug (or HMS_LIB_DIR).
#   kotlin/run.sh io.github.hmsffi.MatrixKt client unix:///tmp/x.sock
here=$(cd "$(dirname "$0")" && pwd)
lib=${HMS_LIB_DIR:-$here/../target/debug}
cp=$here/target/classes:$here/target/test-classes:$(cat "$here/target/classpath.txt")
main=$1
shift
exec java -Djna.library.path="$lib" -cp "$cp" "$main" "$@"
