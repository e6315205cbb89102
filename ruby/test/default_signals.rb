# frozen_string_literal: true

# Loaded first (`ruby -r`) by the child processes of the tests: SIGINT and SIGTERM get Ruby's
# default handlers (Interrupt, SignalException) whatever the test process passed on. Started as
# a background job of a script, the tests have SIGINT ignored, and Ruby leaves an inherited
# ignored signal ignored, so a child would never see the Ctrl-C the test sends.
trap("INT", "DEFAULT")
trap("TERM", "DEFAULT")
