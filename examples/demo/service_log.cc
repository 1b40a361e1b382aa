// SPDX-License-Identifier: Apache-2.0
#include "service_log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace demo {

void SetUpLogging(const std::string& service) {
  auto logger = std::make_shared<spdlog::logger>(
      service, std::make_shared<spdlog::sinks::stdout_sink_mt>());
  logger->set_pattern("%H:%M:%S.%f %-9n %-7l %v");
  logger->set_level(spdlog::level::info);
  logger->flush_on(spdlog::level::trace);  // every line, at once
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace demo
