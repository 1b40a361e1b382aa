// SPDX-License-Identifier: Apache-2.0
// examples/demo/settings.h: the command line of a demo service, parsed by
// CLI11 (Debian: libcli11-dev).
//
// Each setting has a flag, an environment variable and a default; the flag
// wins over the variable, which wins over the default. A value that does not
// parse or is out of range, from either source, is an error that names the
// flag:
//
//   demo::CommandLine cli("orders: the middle hop", "demo_orders",
//                         {"127.0.0.1", 50051}, "ORDERS_LISTEN");
//   demo::HostPort inventory{"127.0.0.1", 50052};
//   demo::AddHostPort(cli.app, "--inventory", "INVENTORY_ADDR", inventory,
//                     "address of the inventory service");
//   cli.ParseOrExit(argc, argv);
//   if (cli.health_check) return Probe(cli.listen);
//
// Every service understands --help, --listen, and --healthcheck (ask the
// service that listens on --listen whether it is healthy, for Docker's
// HEALTHCHECK).

#ifndef CTX_EXAMPLES_DEMO_SETTINGS_H_
#define CTX_EXAMPLES_DEMO_SETTINGS_H_

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace demo {

// HostPort is a "host:port" address. Port 0 asks for an ephemeral port.
struct HostPort {
  std::string host;
  int port = 0;

  // Parse reads "host:port" (the host may be empty, a name, an IPv4 address
  // or a bracketed IPv6 one; the port 0 to 65535); nullopt when `text` is not
  // one.
  [[nodiscard]] static std::optional<HostPort> Parse(std::string_view text);

  // ToString returns "host:port".
  [[nodiscard]] std::string ToString() const;
  // Dialable returns the address a local client should dial: a wildcard host
  // (0.0.0.0, ::, empty) becomes 127.0.0.1.
  [[nodiscard]] HostPort Dialable() const;
};

// AddHostPort declares the option `flag` (e.g. "--listen") with the
// environment variable `env`; `out` holds the default and receives the value.
// `out` must outlive the parse.
void AddHostPort(CLI::App& app, const std::string& flag, const std::string& env,
                 HostPort& out, const std::string& help);

// CommandLine is a demo service's command line: the CLI::App, with the
// options every service has declared. Declare the service's own options on
// `app`, then call ParseOrExit. Not copyable or movable (the options point
// into it).
struct CommandLine {
  // CommandLine declares --listen (environment variable `listen_env`, default
  // `default_listen`) and --healthcheck.
  CommandLine(const std::string& description, const std::string& program,
              HostPort default_listen, const std::string& listen_env);
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  // ParseOrExit parses argv and the environment into the declared options. On
  // --help it prints the usage and exits 0; on an unknown flag, a missing
  // value or a value that does not parse or is out of range, it prints the
  // error and exits 2. For main() only.
  void ParseOrExit(int argc, char** argv);

  CLI::App app;
  // listen: where the service serves, and what --healthcheck probes.
  HostPort listen;
  // health_check: --healthcheck was given.
  bool health_check = false;
};

}  // namespace demo

#endif  // CTX_EXAMPLES_DEMO_SETTINGS_H_
