#!/bin/sh
# The Kotlin side of the cross-language matrix (tests/matrix/run.py): runs
# io.github.hmsffi.MatrixKt (kotlin/src/test/kotlin/io/github/hmsffi/Matrix.kt) from the Maven
# build that `make kotlin-install` leaves in kotlin/target, on the JVM.
#   conformance.sh serve URI | conformance.sh client URI
root=$(cd "$(dirname "$0")/../../.." && pwd)
exec "$root/kotlin/run.sh" io.github.hmsffi.MatrixKt "$@"
