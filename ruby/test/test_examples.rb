# frozen_string_literal: true

# examples/ruby/greeter.rb runs as documented, in one process and as server + client processes.

require_relative "test_helper"
require "open3"
require "rbconfig"

class ExamplesTest < Minitest::Test
  include Served
  include Children

  GREETER = File.join(Vectors::ROOT, "examples", "ruby", "greeter.rb")

  def test_greeter_in_one_process
    out, err, status = Open3.capture3(RbConfig.ruby, GREETER, "both")
    assert status.success?, err
    assert_includes out, %(SayHello -> "Hello Ada from Ruby, Hello Ada from Ruby")
    assert_includes out, "a wrong type is refused: invalid demo.v1.HelloRequest value: name: expected str, got int"
    assert_includes out, "HmsFfi::InvalidArgument: name must not be empty"
  end

  def test_greeter_server_and_client_processes
    uri = unix_uri("greeter.sock")
    ruby_child(GREETER, "serve", uri) do |stdout, wait|
      assert_includes child_line(stdout, wait).to_s, "listening on #{uri}"
      out, err, status = Open3.capture3(RbConfig.ruby, GREETER, "call", uri, "Grace")
      assert status.success?, err
      assert_includes out, "Hello Grace from Ruby"
      Process.kill("INT", wait.pid)
      status = finish_child(stdout, wait)
      assert status.success?, status.inspect
    end
  end
end
