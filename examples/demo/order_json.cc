#include "order_json.h"

#include <cstdio>
#include <string>
#include <string_view>

namespace demo {
namespace {

// AppendString appends `s` as a JSON string (quotes, backslashes and control
// characters escaped).
void AppendString(std::string& out, std::string_view s) {
  out += '"';
  for (const char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(ch));
      out += buf;
    } else {
      out += ch;
    }
  }
  out += '"';
}

void AppendHop(std::string& out, const ctxdemo::Hop& hop) {
  out += "    {\"service\": ";
  AppendString(out, hop.service());
  out += ", \"request_id\": ";
  AppendString(out, hop.request_id());
  out += ", \"left_ms\": ";
  out += std::to_string(hop.left_ms());
  out += '}';
}

}  // namespace

std::string OrderJson(const ctxdemo::Hop& gateway,
                      const ctxdemo::PlaceOrderReply& reply) {
  std::string out = "{\n  \"request_id\": ";
  AppendString(out, gateway.request_id());
  out += ",\n  \"order_id\": ";
  AppendString(out, reply.order_id());
  out += ",\n  \"hops\": [\n";
  AppendHop(out, gateway);
  for (const ctxdemo::Hop& hop : reply.hops()) {
    out += ",\n";
    AppendHop(out, hop);
  }
  out += "\n  ]\n}\n";
  return out;
}

std::string ErrorJson(std::string_view request_id, std::string_view error) {
  std::string out = "{\"request_id\": ";
  AppendString(out, request_id);
  out += ", \"error\": ";
  AppendString(out, error);
  out += "}\n";
  return out;
}

}  // namespace demo
