# frozen_string_literal: true

module HmsFfi
  VERSION = "0.1.0"
end
