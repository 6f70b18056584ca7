// The JSON form of a DeliveryReport: what `GET /v1/report` answers and `slipway report --json`
// prints. docs/report.md shows it; report_json_test pins it.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "report/delivery_report.h"

namespace slipway::report {

// `app` is the app asked for (null in the JSON for a report over every app); `since_text` is
// the window as the caller wrote it ("30d").
nlohmann::json ReportToJson(const DeliveryReport& report, const std::optional<std::string>& app,
                            const std::string& since_text);

}  // namespace slipway::report
