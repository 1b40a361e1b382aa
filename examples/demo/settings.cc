#include "settings.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace demo {
namespace {

void PrintUsage(std::FILE* out, std::string_view program,
                std::span<const Flag> flags) {
  std::fprintf(out, "usage: %.*s [--flag=value...]\n",
               static_cast<int>(program.size()), program.data());
  for (const Flag& f : flags) {
    std::fprintf(out, "  --%-14.*s $%-22.*s %.*s (default %.*s)\n",
                 static_cast<int>(f.name.size()), f.name.data(),
                 static_cast<int>(f.env.size()), f.env.data(),
                 static_cast<int>(f.help.size()), f.help.data(),
                 static_cast<int>(f.default_value.size()),
                 f.default_value.data());
  }
  std::fprintf(out,
               "  --healthcheck  probe the service listening on --listen and "
               "exit 0 if it answers\n");
}

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::exit(2);
}

}  // namespace

std::string HostPort::ToString() const {
  return host + ":" + std::to_string(port);
}

HostPort HostPort::Dialable() const {
  if (host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]") {
    return {"127.0.0.1", port};
  }
  return *this;
}

Settings Settings::ParseOrExit(int argc, char** argv, std::string_view program,
                               std::span<const Flag> flags) {
  Settings s;
  for (const Flag& f : flags) {
    const std::string env(f.env);
    const char* from_env = std::getenv(env.c_str());
    s.values_[std::string(f.name)] =
        from_env != nullptr ? from_env : std::string(f.default_value);
  }
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      PrintUsage(stdout, program, flags);
      std::exit(0);
    }
    if (arg == "--healthcheck") {
      s.healthcheck_ = true;
      continue;
    }
    const size_t eq = arg.find('=');
    const bool known = arg.starts_with("--") && eq != std::string_view::npos &&
                       s.values_.contains(arg.substr(2, eq - 2));
    if (!known) {
      PrintUsage(stderr, program, flags);
      Fail("unknown flag or missing =value: " + std::string(arg));
    }
    s.values_[std::string(arg.substr(2, eq - 2))] = arg.substr(eq + 1);
  }
  return s;
}

const std::string& Settings::Get(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) Fail("undeclared flag: " + std::string(name));
  return it->second;
}

long long Settings::GetInt(std::string_view name) const {
  const std::string& v = Get(name);
  long long out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size()) {
    Fail("--" + std::string(name) + ": not an integer: " + v);
  }
  return out;
}

HostPort Settings::GetHostPort(std::string_view name) const {
  const std::string& v = Get(name);
  const size_t colon = v.rfind(':');
  int port = -1;
  if (colon != std::string::npos) {
    auto [end, ec] =
        std::from_chars(v.data() + colon + 1, v.data() + v.size(), port);
    if (ec != std::errc() || end != v.data() + v.size()) port = -1;
  }
  if (port < 0 || port > 65535) {
    Fail("--" + std::string(name) + ": want host:port, got " + v);
  }
  return {v.substr(0, colon), port};
}

}  // namespace demo
