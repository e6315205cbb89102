# frozen_string_literal: true

module HmsFfi
  # Compiled protobuf files and their services (compiled at runtime, no protoc needed).
  class Schema
    # Compiles one `.proto` file or an Array of them; imports are looked up in `includes`,
    # the files' folders and the well-known types.
    def self.load(paths, includes: [])
      _load(Array(paths).map(&:to_s), Array(includes).map(&:to_s))
    end

    # One version of a schema in a registry: `registry+URI#SUBJECT[@N|@latest|@sha256:HEX]`
    # (docs/evolution.md), fetched and checked against its fingerprint. Raises
    # HmsFfi::InvalidArgument (a bad reference), HmsFfi::NotFound or HmsFfi::Unavailable.
    def self.from_registry(reference, timeout: 10)
      _from_registry(reference.to_s, Float(timeout))
    end
  end
end
