# frozen_string_literal: true

# Two versions side by side (docs/evolution.md): Ruby has no revision API of its own yet, but
# its plain client chooses a revision with the hms-schema-revision call metadata entry, like
# any gRPC client. The server is the CLI's (`hms-ffi serve --echo --revision rev1=FILE`), run
# as a child process with a timeout on every wait.

require_relative "test_helper"

class RevisionsTest < Minitest::Test
  include Children

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
end
