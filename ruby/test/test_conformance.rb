# frozen_string_literal: true

# Every shared conformance vector: Ruby client -> Ruby server (served by a Ruby thread), over
# inproc and unix.

require_relative "test_helper"

class ConformanceTest < Minitest::Test
  CASES = Vectors.load_cases
  SERVER, URIS = Served.conformance_on_both("conformance")
  CLIENTS = URIS.transform_values { |uri| HmsFfi.connect(uri) }

  def test_all_vectors_loaded
    assert_operator CASES.size, :>=, 200
    assert_equal CASES.size, CASES.map(&:id).uniq.size
  end

  CASES.each do |kase|
    CLIENTS.each_key do |transport|
      define_method("test_#{transport}_#{kase.id.tr('/', '_')}") do
        why = Vectors.check(kase, CLIENTS.fetch(transport))
        assert_nil why, "#{kase.id} over #{transport}: #{why}"
      end
    end
  end
end
