# frozen_string_literal: true

module HmsFfi
  # Compiled protobuf files and their services (compiled at runtime, no protoc needed).
  class Schema
    # Compiles one `.proto` file or an Array of them; imports are looked up in `includes`,
    # the files' folders and the well-known types.
    def self.load(paths, includes: [])
      _load(Array(paths).map(&:to_s), Array(includes).map(&:to_s))
    end
  end
end
