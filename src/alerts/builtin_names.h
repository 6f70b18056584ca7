// The alertnames of the built-in rules (docs/alerts.md). Shared by the spec reader, which keeps
// user rules from taking them, and the rules the alerts module builds.
#pragma once

#include <string_view>

namespace slipway::alerts {

constexpr std::string_view kHighErrorRate = "HighErrorRate";
constexpr std::string_view kHighLatency = "HighLatency";
constexpr std::string_view kCrashLooping = "CrashLooping";
constexpr std::string_view kDeployFailed = "DeployFailed";
constexpr std::string_view kRolledBack = "RolledBack";
constexpr std::string_view kErrorBudgetBurn = "ErrorBudgetBurn";

constexpr std::string_view kBuiltinAlertNames[] = {kHighErrorRate, kHighLatency, kCrashLooping,
                                                   kDeployFailed,  kRolledBack,  kErrorBudgetBurn};

}  // namespace slipway::alerts
