// examples/demo/settings.h: the command-line flags and environment variables a
// demo service reads.
//
// Each setting has a flag, an environment variable and a default; the flag
// wins over the variable, which wins over the default:
//
//   const demo::Flag kFlags[] = {
//       {"listen", "INVENTORY_LISTEN", "127.0.0.1:50052", "address to serve
//       on"},
//   };
//   demo::Settings s = demo::Settings::ParseOrExit(argc, argv, "inventory",
//                                                  kFlags);
//   demo::HostPort listen = s.GetHostPort("listen");
//
// Two flags every service understands: --help, and --healthcheck (probe the
// service that listens on --listen, for Docker's HEALTHCHECK).

#ifndef CTX_EXAMPLES_DEMO_SETTINGS_H_
#define CTX_EXAMPLES_DEMO_SETTINGS_H_

#include <map>
#include <span>
#include <string>
#include <string_view>

namespace demo {

// Flag declares one setting: --<name>=<value>, else $<env>, else
// default_value.
struct Flag {
  std::string_view name;
  std::string_view env;
  std::string_view default_value;
  std::string_view help;
};

// HostPort is a "host:port" address. Port 0 asks for an ephemeral port.
struct HostPort {
  std::string host;
  int port = 0;

  // ToString returns "host:port".
  [[nodiscard]] std::string ToString() const;
  // Dialable returns the address a local client should dial: a wildcard host
  // (0.0.0.0, ::, empty) becomes 127.0.0.1.
  [[nodiscard]] HostPort Dialable() const;
};

// Settings holds the resolved value of every declared flag.
class Settings {
 public:
  // ParseOrExit resolves `flags` from argv and the environment. On --help it
  // prints the usage and exits 0; on an unknown flag or a missing value it
  // prints the usage and exits 2. For main() only.
  static Settings ParseOrExit(int argc, char** argv, std::string_view program,
                              std::span<const Flag> flags);

  // Get returns the value of a declared flag.
  [[nodiscard]] const std::string& Get(std::string_view name) const;
  // GetInt returns the value of a declared flag as an integer, or exits 2
  // with a message when it is not one.
  [[nodiscard]] long long GetInt(std::string_view name) const;
  // GetHostPort returns the value of a declared flag as host:port, or exits 2
  // with a message when it is not one.
  [[nodiscard]] HostPort GetHostPort(std::string_view name) const;
  // healthcheck reports whether --healthcheck was given.
  [[nodiscard]] bool healthcheck() const { return healthcheck_; }

 private:
  std::map<std::string, std::string, std::less<>> values_;
  bool healthcheck_ = false;
};

}  // namespace demo

#endif  // CTX_EXAMPLES_DEMO_SETTINGS_H_
