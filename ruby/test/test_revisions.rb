# frozen_string_literal: true

# Two versions side by side (docs/evolution.md): a Ruby server serving two revisions of one
# package, a client choosing its revision at connect, and a v1 block answering v2 callers
# through a bridge; and a plain client choosing a revision with the hms-schema-revision call
# metadata entry, like any gRPC client, against the CLI's server (`hms-ffi serve --echo
# --revision rev1=FILE`, a child process with a timeout on every wait).

require_relative "test_helper"

class RevisionsTest < Minitest::Test
  include Children
  include Served

  CLI = File.expand_path("../../target/debug/hms-ffi", __dir__)
  # Revision 1 still has Legacy, which revision 2 (the server's main schema) removed.
  REV1 = <<~PROTO
    syntax = "proto3";
    package acme.v1;
    message Note { string name = 1; }
    service Notes { rpc Echo(Note) returns (Note); rpc Legacy(Note) returns (Note); }
  PROTO
  REV2 = <<~PROTO
    syntax = "proto3";
    package acme.v1;
    message Note { string full_name = 1; string locale = 2; }
    service Notes { rpc Echo(Note) returns (Note); }
  PROTO
  LEGACY = "acme.v1.Notes/Legacy"

  def with_cli_server
    flunk "#{CLI} is missing: `cargo build -p hms-ffi-cli` first (make test-ruby does)" unless File.exist?(CLI)
    Dir.mktmpdir("hms-rb-rev-") do |dir|
      File.write(File.join(dir, "rev1.proto"), REV1)
      File.write(File.join(dir, "rev2.proto"), REV2)
      sock = File.join(dir, "rev.sock")
      args = ["serve", "--echo", "--schema", File.join(dir, "rev2.proto"),
              "--revision", "rev1=#{File.join(dir, 'rev1.proto')}", "--listen", "unix://#{sock}"]
      Open3.popen3(CLI, *args) do |stdin, _stdout, _stderr, wait|
        stdin.close
        200.times do
          break if File.exist?(sock) || !wait.alive?

          sleep 0.05
        end
        flunk "hms-ffi serve did not create #{sock}" unless File.exist?(sock)
        yield "unix://#{sock}", dir
      ensure
        kill_child(wait)
      end
    end
  end

  def test_a_plain_client_chooses_a_revision_with_call_metadata
    with_cli_server do |uri, dir|
      client = HmsFfi.connect(uri, schema: HmsFfi::Schema.load(File.join(dir, "rev1.proto")))
      chosen = { "hms-schema-revision" => "rev1" }
      assert_equal "Ada", client.call(LEGACY, { name: "Ada" }, timeout: 10, metadata: chosen)[:name]
      # Without the entry the call speaks the main schema, which has no Legacy.
      assert_raises(HmsFfi::Unimplemented) { client.call(LEGACY, { name: "Ada" }, timeout: 10) }
      error = assert_raises(HmsFfi::FailedPrecondition) do
        client.call(LEGACY, { name: "Ada" }, timeout: 10, metadata: { "hms-schema-revision" => "rev9" })
      end
      assert_equal "UNKNOWN_SCHEMA_REVISION", error.reason
      assert_includes error.message, "rev1 sha256:"
      client.close
    end
  end

  GREETER1 = <<~PROTO
    syntax = "proto3";
    package acme.v1;
    message HelloRequest { string name = 1; }
    message HelloReply { string message = 1; }
    service Greeter { rpc SayHello(HelloRequest) returns (HelloReply); }
  PROTO
  # Fields renamed (the same numbers) and added.
  GREETER2 = GREETER1.sub("string name = 1;", "string full_name = 1; string locale = 2;")
                     .sub("string message = 1;", "string text = 1; int32 length = 2;")
  HELLO = "acme.v1.Greeter/SayHello"

  def greeter(text)
    HmsFfi::Schema.from_source("acme/v1/greeter.proto", text)
  end

  def test_a_ruby_server_serves_two_revisions_and_bridges_one
    server = HmsFfi::Server.new(greeter(GREETER2))
    server.method(HELLO) { |req, _ctx| { text: "v2 #{req[:full_name]}", length: req[:full_name].size } }
    fingerprint = server.add_revision("rev1", greeter(GREETER1))
    assert_equal({ "rev1" => fingerprint }, server.revisions)
    server.method(HELLO, revision: "rev1") { |req, _ctx| { message: "v1 #{req[:name]}" } }
    assert_raises(HmsFfi::AlreadyExists) { server.add_revision("rev1", greeter(GREETER1)) }
    assert_raises(HmsFfi::NotFound) { server.method(HELLO, revision: "nope") { |r, _| r } }
    uri = server.listen(unix_uri("rev.sock"))
    serving = Thread.new { server.serve }

    main = HmsFfi.connect(uri)
    assert_nil main.revision
    assert_equal({ "rev1" => fingerprint }, main.revisions)
    assert_equal "v2 Ada", main.call(HELLO, { full_name: "Ada" }, timeout: 10)[:text]
    v1 = HmsFfi.connect(uri, revision: "rev1")
    assert_equal fingerprint, v1.revision
    assert_equal "v1 Ada", v1.call(HELLO, { name: "Ada" }, timeout: 10)[:message]
    built = HmsFfi.connect(uri, expect_schema: greeter(GREETER1))
    assert_equal fingerprint, built.revision
    assert_equal "v1 Bo", built.call(HELLO, { name: "Bo" }, timeout: 10)[:message]

    # The bridge: the v1 block answers v2 callers, the renamed fields matched by number.
    server.bridge("rev1", HELLO)
    reply = main.call(HELLO, { full_name: "Ada", locale: "en" }, timeout: 10)
    assert_equal ["v1 Ada", 0], [reply[:text], reply[:length]]
    [main, v1, built].each(&:close)
  ensure
    server&.shutdown(grace: 1.0)
    serving&.join(10)
  end
end
