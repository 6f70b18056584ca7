#include "common/log_time.h"

#include <ctime>

namespace slipway {

void AppendLogTime(std::string& out, std::chrono::system_clock::time_point time) {
  thread_local std::time_t cached_second = -1;
  thread_local char cached[20];  // "2024-05-01T12:00:00"
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(time);
  const auto seconds = std::chrono::floor<std::chrono::seconds>(ms);
  const std::time_t t = std::chrono::system_clock::to_time_t(seconds);
  if (t != cached_second) {
    std::tm utc{};
    ::gmtime_r(&t, &utc);
    std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &utc);
    cached_second = t;
  }
  const int millis = static_cast<int>((ms - seconds).count());
  out.append(cached, 19);
  out += '.';
  out += static_cast<char>('0' + millis / 100);
  out += static_cast<char>('0' + millis / 10 % 10);
  out += static_cast<char>('0' + millis % 10);
  out += 'Z';
}

std::string LogTime(std::chrono::system_clock::time_point time) {
  std::string out;
  AppendLogTime(out, time);
  return out;
}

}  // namespace slipway
