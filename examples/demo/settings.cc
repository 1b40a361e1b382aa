// SPDX-License-Identifier: Apache-2.0
#include "settings.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace demo {

std::optional<HostPort> HostPort::Parse(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view host = text.substr(0, colon);
  const std::string_view digits = text.substr(colon + 1);
  int port = -1;
  auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || ec != std::errc() ||
      end != digits.data() + digits.size() || port < 0 || port > 65535) {
    return std::nullopt;
  }
  // A colon left in the host is an IPv6 address, which needs brackets.
  if (host.find(':') != std::string_view::npos &&
      !(host.starts_with('[') && host.ends_with(']'))) {
    return std::nullopt;
  }
  return HostPort{std::string(host), port};
}

std::string HostPort::ToString() const {
  return host + ":" + std::to_string(port);
}

HostPort HostPort::Dialable() const {
  if (host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]") {
    return {"127.0.0.1", port};
  }
  return *this;
}

void AddHostPort(CLI::App& app, const std::string& flag, const std::string& env,
                 HostPort& out, const std::string& help) {
  const CLI::Validator host_port(
      [](std::string& value) -> std::string {
        return HostPort::Parse(value) ? "" : "want host:port, got " + value;
      },
      "");
  app.add_option_function<std::string>(
         flag,
         [&out](const std::string& value) { out = *HostPort::Parse(value); },
         help)
      ->type_name("HOST:PORT")
      ->envname(env)
      ->default_str(out.ToString())
      ->check(host_port);
}

CommandLine::CommandLine(const std::string& description,
                         const std::string& program, HostPort default_listen,
                         const std::string& listen_env)
    : app(description, program), listen(std::move(default_listen)) {
  AddHostPort(app, "--listen", listen_env, listen,
              "address to serve on (port 0: any free port)");
  app.add_flag("--healthcheck", health_check,
               "ask the service listening on --listen whether it is healthy "
               "(exit 0 if it is, 1 if not)");
}

void CommandLine::ParseOrExit(int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is a ParseError of exit code 0; exit() prints it to stdout and
    // every other error to stderr.
    const int code = app.exit(e);
    std::exit(code == 0 ? 0 : 2);
  }
}

}  // namespace demo
