# frozen_string_literal: true

# Security from Ruby: one `security:` file gives the server its policy and limits; a block sees
# the caller's identity and unix credentials; refused calls raise typed errors.

require_relative "test_helper"
require "pathname"

class SecurityTest < Minitest::Test
  include Served

  def write(name, text)
    @tmp ||= Dir.mktmpdir("hms-rb-")
    path = File.join(@tmp, name)
    File.write(path, text)
    path
  end

  def test_policy_denies_a_method_and_the_block_sees_identity_and_peer_credentials
    security = write("security.toml", <<~TOML)
      [limits]
      max_message_bytes = 2048
      [policy]
      [[policy.rule]]
      identities = ["uid:*"]
      deny = ["#{ECHO}"]
    TOML
    server = HmsFfi::Server.new(HmsFfi::Schema.load(Vectors::PROTO), security: security)
    seen = Queue.new
    echoed = 0
    server.method(SCALARS) do |req, ctx|
      seen << [ctx.identity, ctx.peer_credentials]
      req
    end
    server.method(ECHO) { |req, _ctx| echoed += 1; req }
    uri = unix_uri("sec.sock")
    thread, discovering = start(server, uri)
    @stop = lambda { server.shutdown(grace: 1.0); thread.join(5) }
    # With a policy, discovery lists only what the caller may call; a client given the schema
    # reaches the server, which refuses the denied method.
    names = discovering.methods.map(&:first)
    assert_includes names, SCALARS
    refute_includes names, ECHO
    client = HmsFfi.connect(uri, schema: server.schema)
    assert_equal 0o600, File.stat(uri.delete_prefix("unix://")).mode & 0o777
    assert_equal "hi", client.call(SCALARS, { string_v: "hi" })[:string_v]
    assert_equal ["uid:#{Process.uid}", [Process.uid, Process.gid, Process.pid]], seen.pop
    err = assert_raises(HmsFfi::PermissionDenied) { client.call(ECHO, { unicode_text: "no" }) }
    assert_equal "POLICY_DENIED", err.reason
    assert_equal 0, echoed
    assert_raises(HmsFfi::ResourceExhausted) { client.call(SCALARS, { string_v: "x" * 4096 }) }
    assert_empty seen
  end

  def test_inproc_callers_have_no_identity_and_no_peer_credentials
    server = HmsFfi::Server.new(HmsFfi::Schema.load(Vectors::PROTO))
    seen = Queue.new
    server.method(SCALARS) do |req, ctx|
      seen << [ctx.identity, ctx.peer_credentials]
      req
    end
    thread, client = start(server)
    @stop = lambda { server.shutdown(grace: 1.0); thread.join(5) }
    client.call(SCALARS, {})
    assert_equal [nil, nil], seen.pop
  end

  def test_a_bad_security_file_is_invalid_argument
    schema = HmsFfi::Schema.load(Vectors::PROTO)
    bad = write("bad.toml", "[policy]\ndefault_network = 'sometimes'\n")
    assert_raises(HmsFfi::InvalidArgument) { HmsFfi::Server.new(schema, security: bad) }
    unknown = write("unknown.toml", "[limits]\nmax_mesage_bytes = 10\n")
    err = assert_raises(HmsFfi::InvalidArgument) { HmsFfi::Server.new(schema, security: Pathname(unknown)) }
    assert_equal "BAD_SECURITY_CONFIG", err.reason
  end
end
