// SPDX-License-Identifier: Apache-2.0
// ctx/log/log.h: spdlog lines that say which request they belong to and how
// much of its deadline is left (not in Go).
//
// Every line written through these functions starts with ctx::log::Prefix(c)
// (see ctx/log/prefix.h), so a service's log can be read per request and
// joined with the logs of the services it called: both bridges forward the
// request id, and each hop shows its own remaining budget.
//
//   void Reserve(const ctx::Context& c, int n) {
//     ctx::log::Info(c, "reserving {} items", n);
//     // [12:00:00.123456] [inventory] [info] [req=4bf9... left=245ms]
//     //     reserving 3 items
//     if (c.Done().WaitFor(work)) {
//       ctx::log::Warn(c, "gave up: {}", ctx::Cause(c));
//     }
//   }
//
// The free functions (Trace, Debug, Info, Warn, Error, Critical) write to
// spdlog's default logger and read the request id from ctx::kRequestIdKey, as
// the bridges store it. A Logger writes to a logger of your choice and can
// read the id from another key.
//
// Main names: Info, Warn, Error, Debug, Trace, Critical, Logger.
//
// Cost: when the level is disabled, one check and nothing else; otherwise the
// prefix and the message are formatted into one string, then handed to spdlog
// as a preformatted message.

#ifndef CTX_LOG_LOG_H_
#define CTX_LOG_LOG_H_

#include <spdlog/spdlog.h>

#include <memory>
#include <utility>

#include "ctx/context.h"
#include "ctx/export.h"
#include "ctx/log/prefix.h"

namespace ctx::log {

// Logger writes prefixed lines to one spdlog logger.
//
// Thread-safety: every method is safe to call from any thread at the same
// time, if the spdlog logger is (spdlog's *_mt loggers are).
// Lifetime: holds a reference to its spdlog logger; copies share it.
class CTX_EXPORT Logger {
 public:
  // Logger writes to `logger`; a null logger means spdlog's default logger as
  // it is at the time of each call (so spdlog::set_default_logger applies).
  explicit Logger(std::shared_ptr<spdlog::logger> logger = nullptr,
                  PrefixOptions options = {})
      : logger_(std::move(logger)), options_(options) {}

  // Log writes one line at `level`: Prefix(c), a space, then
  // fmt::format(fmt, args...). The format string is checked at compile time.
  // Does not throw for a valid format; when the level is disabled, formats
  // nothing.
  template <class... Args>
  void Log(spdlog::level::level_enum level, const Context& c,
           spdlog::format_string_t<Args...> fmt, Args&&... args) const {
    Write(level, c, fmt, fmt::make_format_args(args...));
  }

  // Trace, Debug, Info, Warn, Error and Critical are Log at that level.
  template <class... Args>
  void Trace(const Context& c, spdlog::format_string_t<Args...> fmt,
             Args&&... args) const {
    Log(spdlog::level::trace, c, fmt, std::forward<Args>(args)...);
  }
  template <class... Args>
  void Debug(const Context& c, spdlog::format_string_t<Args...> fmt,
             Args&&... args) const {
    Log(spdlog::level::debug, c, fmt, std::forward<Args>(args)...);
  }
  template <class... Args>
  void Info(const Context& c, spdlog::format_string_t<Args...> fmt,
            Args&&... args) const {
    Log(spdlog::level::info, c, fmt, std::forward<Args>(args)...);
  }
  template <class... Args>
  void Warn(const Context& c, spdlog::format_string_t<Args...> fmt,
            Args&&... args) const {
    Log(spdlog::level::warn, c, fmt, std::forward<Args>(args)...);
  }
  template <class... Args>
  void Error(const Context& c, spdlog::format_string_t<Args...> fmt,
             Args&&... args) const {
    Log(spdlog::level::err, c, fmt, std::forward<Args>(args)...);
  }
  template <class... Args>
  void Critical(const Context& c, spdlog::format_string_t<Args...> fmt,
                Args&&... args) const {
    Log(spdlog::level::critical, c, fmt, std::forward<Args>(args)...);
  }

 private:
  // Write formats the line and hands it to the logger (see Log).
  void Write(spdlog::level::level_enum level, const Context& c,
             fmt::string_view fmt, fmt::format_args args) const;

  std::shared_ptr<spdlog::logger> logger_;  // null: spdlog's default logger
  PrefixOptions options_;
};

// Trace, Debug, Info, Warn, Error and Critical write one prefixed line to
// spdlog's default logger, as Logger().Info(c, fmt, args...) does. Safe to
// call from any thread.
template <class... Args>
void Trace(const Context& c, spdlog::format_string_t<Args...> fmt,
           Args&&... args) {
  Logger().Trace(c, fmt, std::forward<Args>(args)...);
}
template <class... Args>
void Debug(const Context& c, spdlog::format_string_t<Args...> fmt,
           Args&&... args) {
  Logger().Debug(c, fmt, std::forward<Args>(args)...);
}
template <class... Args>
void Info(const Context& c, spdlog::format_string_t<Args...> fmt,
          Args&&... args) {
  Logger().Info(c, fmt, std::forward<Args>(args)...);
}
template <class... Args>
void Warn(const Context& c, spdlog::format_string_t<Args...> fmt,
          Args&&... args) {
  Logger().Warn(c, fmt, std::forward<Args>(args)...);
}
template <class... Args>
void Error(const Context& c, spdlog::format_string_t<Args...> fmt,
           Args&&... args) {
  Logger().Error(c, fmt, std::forward<Args>(args)...);
}
template <class... Args>
void Critical(const Context& c, spdlog::format_string_t<Args...> fmt,
              Args&&... args) {
  Logger().Critical(c, fmt, std::forward<Args>(args)...);
}

}  // namespace ctx::log

#endif  // CTX_LOG_LOG_H_
