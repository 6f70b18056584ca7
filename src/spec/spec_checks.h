// Small checks and message pieces shared by the spec's readers (spec_parser.cc,
// delivery_reader.cc). Internal to the spec module.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace slipway::spec {

// An HTTP field name: one or more RFC 9110 tchars.
bool IsHeaderName(std::string_view name);
// An HTTP field value Slipway can send as is: visible ASCII, spaces and tabs, not starting or
// ending with whitespace.
bool IsHeaderValue(std::string_view value);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
bool IsHostName(std::string_view host);
// Checks `host:port` / `[v6]:port`; returns the problem, or an empty string when it is valid.
std::string ListenProblem(const std::string& listen);
// "5%" or a number in [0, 1]: a share of requests; nullopt for anything else.
std::optional<double> ParseFraction(const std::string& text);
// "(5m)" or "(5m, the default)", for messages about a rule across two fields.
std::string DurationNote(std::chrono::milliseconds value, bool written);
// `unknown probe type "htp"; did you mean "http"?` or `...; supported: http, tcp`.
// `lookup` is the form compared with `supported` when it differs from what was written.
std::string UnknownName(std::string_view what, const std::string& value,
                        std::span<const std::string_view> supported, std::string_view lookup = {});

}  // namespace slipway::spec
