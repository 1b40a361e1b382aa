// SPDX-License-Identifier: Apache-2.0
#include "ctx/log/log.h"

#include <spdlog/spdlog.h>

#include <iterator>
#include <string>

#include "ctx/log/prefix.h"

namespace ctx::log {

void Logger::Write(spdlog::level::level_enum level, const Context& c,
                   fmt::string_view fmt, fmt::format_args args) const {
  spdlog::logger* target =
      logger_ ? logger_.get() : spdlog::default_logger_raw();
  if (target == nullptr || !target->should_log(level)) return;
  std::string line;
  line.reserve(128);
  AppendPrefix(line, c, options_);
  line += ' ';
  fmt::vformat_to(std::back_inserter(line), fmt, args);
  // Passed as a string_view, the line is written as is: its braces are not
  // read as a format string a second time.
  target->log(level, spdlog::string_view_t(line.data(), line.size()));
}

}  // namespace ctx::log
